#pragma once
// One rendered picture of an env's scene.

#include <cstdint>
#include <vector>

namespace trustrl::envs {

/// An RGB image, row-major, 3 bytes per pixel, top row first.
struct Frame {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

}  // namespace trustrl::envs
