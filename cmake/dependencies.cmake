# Every dependency comes from a Debian 12 package (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(box2d REQUIRED)
# MuJoCo 2.2.2. libmujoco-dev's CMake config names /usr/include/libqhull_r/, which no Debian 12
# package installs, so CMake refuses its target; the header and library are found directly.
find_path(MUJOCO_INCLUDE_DIR mujoco/mujoco.h REQUIRED)
find_library(MUJOCO_LIBRARY mujoco REQUIRED)
add_library(mujoco::mujoco SHARED IMPORTED)
set_target_properties(mujoco::mujoco PROPERTIES IMPORTED_LOCATION "${MUJOCO_LIBRARY}"
                                                INTERFACE_INCLUDE_DIRECTORIES "${MUJOCO_INCLUDE_DIR}")
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
find_package(Torch REQUIRED)
# The ONNX protobuf schema (onnx-ml.pb.h, libonnx_proto) for export, the checker for its tests.
find_package(ONNX REQUIRED)
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
endif()
if(TRUSTRL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# One precompiled torch header, shared by every torch-using target through REUSE_FROM.
add_library(trustrl_torch_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
# Same warning flags as its users: -Wpedantic changes predefined macros, which a PCH must match.
target_link_libraries(trustrl_torch_pch PUBLIC ${TORCH_LIBRARIES} PRIVATE trustrl_warnings)
target_precompile_headers(trustrl_torch_pch PUBLIC <torch/torch.h>)
# gRPC's targets compile with -pthread (it defines _REENTRANT); every torch user and the PCH get it
# too, or GCC rejects the PCH in the targets that use both.
target_compile_options(trustrl_torch_pch PRIVATE -pthread)

# Links torch and reuses the shared precompiled header.
function(trustrl_use_torch target)
  target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(${target} PRIVATE -pthread)
  target_precompile_headers(${target} REUSE_FROM trustrl_torch_pch)
endfunction()

# RPC: the env protocol (proto/, server/, python/).
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(TRUSTRL_GRPC_PYTHON_PLUGIN grpc_python_plugin REQUIRED)
