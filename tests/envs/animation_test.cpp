// Recording GIF and MP4 clips through ffmpeg: valid files, frame counts, atomic appearance, and
// clear errors for bad extensions, bad frames, bad folders, a missing or failing ffmpeg.

#include "envs/render/animation.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "core/files.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_anim_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

// A frame with a square at a place that moves with `t`, so that consecutive frames differ.
Frame moving_square(int width, int height, int t) {
  Frame f{width, height,
          std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3, 255)};
  for (int y = 10; y < 20; ++y)
    for (int x = 3 * t; x < 3 * t + 10 && x < width; ++x) {
      std::uint8_t* p = &f.rgb[(static_cast<std::size_t>(y) * width + x) * 3];
      p[0] = 200, p[1] = static_cast<std::uint8_t>(20 * t), p[2] = 30;
    }
  return f;
}

// One line of ffprobe's answer about the first video stream, e.g. "nb_read_frames".
std::string probe(const fs::path& file, const std::string& entry) {
  const std::string cmd =
      "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=" + entry +
      " -of default=noprint_wrappers=1:nokey=1 '" + file.string() + "' 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Sets PATH for one test and puts it back afterwards.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& value)
      : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(AnimationWriter, WritesAGifWithEveryFrame) {
  const fs::path dir = temp_dir("gif");
  const fs::path file = dir / "clip.gif";
  AnimationWriter writer(file, 64, 48, 10);
  for (int t = 0; t < 12; ++t) writer.add(moving_square(64, 48, t));
  EXPECT_FALSE(fs::exists(file)) << "the file must not appear before close()";
  writer.close();
  EXPECT_EQ(writer.frames(), 12);
  const std::vector<std::uint8_t> bytes = read_file(file);
  ASSERT_GT(bytes.size(), 6u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 6), "GIF89a");
  EXPECT_EQ(probe(file, "nb_read_frames"), "12");
  EXPECT_EQ(probe(file, "width"), "64");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"clip.gif"});  // no temporary left
  writer.close();                                                 // a second close does nothing
  fs::remove_all(dir);
}

TEST(AnimationWriter, WritesAnMp4PaddedToEvenSides) {
  const fs::path dir = temp_dir("mp4");
  const fs::path file = dir / "clip.MP4";  // the extension's case does not matter
  AnimationWriter writer(file, 65, 49, 25);
  for (int t = 0; t < 10; ++t) writer.add(moving_square(65, 49, t));
  writer.close();
  const std::vector<std::uint8_t> bytes = read_file(file);
  ASSERT_GT(bytes.size(), 12u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "ftyp");
  EXPECT_EQ(probe(file, "codec_name"), "h264");
  EXPECT_EQ(probe(file, "pix_fmt"), "yuv420p");
  EXPECT_EQ(probe(file, "width"), "66");
  EXPECT_EQ(probe(file, "height"), "50");
  EXPECT_EQ(probe(file, "nb_read_frames"), "10");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"clip.MP4"});
  fs::remove_all(dir);
}

TEST(AnimationWriter, RecordsAnEpisodeOfAnEnv) {
  const fs::path dir = temp_dir("episode");
  auto env = make("CartPole-v1");
  std::vector<float> obs(4);
  env->reset(1, obs);
  Frame first = env->render();
  // A colon in the name must not be taken for an ffmpeg protocol.
  const fs::path file = dir / "cartpole:seed1.gif";
  AnimationWriter writer(file, first.width, first.height, env->spec().render_fps);
  writer.add(first);
  std::vector<std::int64_t> action{1};
  for (int t = 0; t < 15 && !env->needs_reset(); ++t) {
    action[0] = t % 2;  // alternate pushes keep the pole up for a while
    env->step({action, {}}, obs);
    writer.add(env->render());
  }
  writer.close();
  EXPECT_EQ(writer.frames(), 16);
  EXPECT_EQ(probe(file, "nb_read_frames"), "16");
  fs::remove_all(dir);
}

TEST(AnimationWriter, RejectsOtherExtensionsByName) {
  const fs::path dir = temp_dir("ext");
  const std::string avi = error_of([&] { AnimationWriter(dir / "clip.avi", 8, 8, 10); });
  EXPECT_TRUE(contains(avi, "'.avi'")) << avi;
  EXPECT_TRUE(contains(avi, ".gif or .mp4")) << avi;
  EXPECT_TRUE(contains(error_of([&] { AnimationWriter(dir / "clip", 8, 8, 10); }), "no extension"));
  EXPECT_NE(error_of([&] { AnimationWriter(dir / "clip.gif", 0, 8, 10); }), "");
  EXPECT_NE(error_of([&] { AnimationWriter(dir / "clip.gif", 8, 8, 0); }), "");
  EXPECT_TRUE(entries(dir).empty());
  fs::remove_all(dir);
}

TEST(AnimationWriter, RejectsAFrameOfAnotherSize) {
  const fs::path dir = temp_dir("size");
  AnimationWriter writer(dir / "clip.gif", 64, 48, 10);
  writer.add(moving_square(64, 48, 0));
  const std::string message = error_of([&] { writer.add(moving_square(32, 48, 1)); });
  EXPECT_TRUE(contains(message, "32x48")) << message;
  EXPECT_TRUE(contains(message, "64x48")) << message;
  Frame short_bytes = moving_square(64, 48, 1);
  short_bytes.rgb.pop_back();
  EXPECT_NE(error_of([&] { writer.add(short_bytes); }), "");
  // The mistake is caught before anything reaches ffmpeg, so the recording carries on.
  writer.add(moving_square(64, 48, 2));
  writer.close();
  EXPECT_EQ(probe(dir / "clip.gif", "nb_read_frames"), "2");
  fs::remove_all(dir);
}

TEST(AnimationWriter, UnwritableFolderIsNamed) {
  const std::string message =
      error_of([] { AnimationWriter("/nonexistent/trustrl/clip.gif", 8, 8, 10); });
  EXPECT_TRUE(contains(message, "/nonexistent/trustrl")) << message;
}

TEST(AnimationWriter, AbandonedOrEmptyRecordingsLeaveNoFile) {
  const fs::path dir = temp_dir("abandon");
  {
    AnimationWriter writer(dir / "abandoned.mp4", 64, 48, 10);
    writer.add(moving_square(64, 48, 0));
  }  // destroyed without close()
  {
    AnimationWriter writer(dir / "empty.gif", 64, 48, 10);
    EXPECT_TRUE(contains(error_of([&] { writer.close(); }), "no frames"));
    EXPECT_NE(error_of([&] { writer.add(moving_square(64, 48, 0)); }), "");
  }
  EXPECT_TRUE(entries(dir).empty());
  fs::remove_all(dir);
}

TEST(AnimationWriter, MissingFfmpegNamesThePackage) {
  const fs::path dir = temp_dir("noffmpeg");
  std::string message;
  {
    ScopedPath path(dir.string());  // a PATH with no ffmpeg on it
    message = error_of([&] { AnimationWriter(dir / "clip.gif", 8, 8, 10); });
  }
  EXPECT_TRUE(contains(message, "ffmpeg is not on PATH")) << message;
  EXPECT_TRUE(contains(message, "apt-get install ffmpeg")) << message;
  EXPECT_TRUE(entries(dir).empty());
  fs::remove_all(dir);
}

TEST(AnimationWriter, FailingFfmpegReportsItsStderrAndLeavesNoFile) {
  const fs::path dir = temp_dir("badffmpeg");
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  {
    std::ofstream script(bin / "ffmpeg");
    script << "#!/bin/sh\necho 'some preamble' >&2\necho 'fake ffmpeg: encoder exploded' >&2\nexit "
              "3\n";
  }
  ::chmod((bin / "ffmpeg").c_str(), 0755);
  std::string message;
  {
    ScopedPath path(bin.string());
    message = error_of([&] {
      AnimationWriter writer(dir / "clip.mp4", 64, 48, 10);
      // The fake exits at once; the failure shows at a later add() or at close().
      for (int t = 0; t < 200; ++t) writer.add(moving_square(64, 48, t % 10));
      writer.close();
    });
  }
  EXPECT_TRUE(contains(message, "encoder exploded")) << message;
  EXPECT_TRUE(contains(message, "exit status 3")) << message;
  EXPECT_TRUE(contains(message, "clip.mp4")) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "errors are one line: " << message;
  EXPECT_EQ(entries(dir), std::vector<std::string>{"bin"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trustrl::envs
