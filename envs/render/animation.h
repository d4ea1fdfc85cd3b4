#pragma once
// Records frames into a .gif or .mp4 by piping raw RGB into an ffmpeg child process.
//
// The file appears only when close() succeeds: ffmpeg writes a hidden temporary beside it, which
// close() renames over `path`, so a failed or abandoned recording never leaves a file that looks
// valid. GIFs get a palette computed from the whole clip (palettegen/paletteuse), MP4s are H.264
// (libx264, yuv420p; an odd width or height is padded by one pixel, as yuv420p needs even sides).

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "envs/frame.h"

namespace trustrl::envs {

class AnimationWriter {
 public:
  /// Starts ffmpeg for a width x height clip at `fps` frames per second. The format follows the
  /// extension of `path` (.gif or .mp4, any case). Throws Error for another extension, a size or
  /// rate that is not positive, a folder that cannot be written, or ffmpeg missing from PATH.
  AnimationWriter(std::filesystem::path path, int width, int height, int fps);
  /// Without a successful close(), stops ffmpeg and removes the temporary: nothing is written.
  ~AnimationWriter();
  AnimationWriter(const AnimationWriter&) = delete;
  AnimationWriter& operator=(const AnimationWriter&) = delete;

  /// Appends one frame (copied into ffmpeg's input before returning). Throws Error if its size
  /// differs from the writer's, or if ffmpeg has failed (the message carries ffmpeg's last
  /// words); after an ffmpeg failure the writer is finished and nothing is written.
  void add(const Frame& frame);

  /// Lets ffmpeg finish and moves the file into place. Throws Error if no frame was added or
  /// ffmpeg failed (nothing is written then). Calling it again after success does nothing.
  void close();

  const std::filesystem::path& path() const { return path_; }
  int frames() const { return frames_; }

 private:
  enum class State { kOpen, kClosed, kFailed };

  /// Waits for ffmpeg after its input is closed; returns why it failed, or none when it exited
  /// cleanly (the callers put the reason in their own message).
  std::optional<std::string> finish_child();
  /// Removes the temporary, marks the writer failed and throws Error(message).
  [[noreturn]] void fail(const std::string& message);
  std::string ffmpeg_stderr_tail() const;

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int width_;
  int height_;
  int frames_ = 0;
  State state_ = State::kOpen;
  pid_t pid_ = -1;
  int input_fd_ = -1;   // our end of ffmpeg's stdin
  int stderr_fd_ = -1;  // an unlinked temporary file holding ffmpeg's stderr
};

}  // namespace trustrl::envs
