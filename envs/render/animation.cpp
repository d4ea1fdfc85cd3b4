#include "envs/render/animation.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

extern char** environ;

namespace trustrl::envs {

namespace {

enum class Format { kGif, kMp4 };

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Format format_of(const std::filesystem::path& path) {
  const std::string ext = lower(path.extension().string());
  if (ext == ".gif") return Format::kGif;
  if (ext == ".mp4") return Format::kMp4;
  if (ext.empty())
    throw Error("cannot record to '" + path.string() + "': it has no extension; use .gif or .mp4");
  throw Error("cannot record to '" + path.string() + "': unsupported extension '" +
              path.extension().string() + "'; use .gif or .mp4");
}

std::vector<std::string> ffmpeg_arguments(Format format, int width, int height, int fps,
                                          const std::string& out) {
  std::vector<std::string> args = {"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                                   // Raw RGB frames on stdin, exactly as Frame holds them.
                                   "-f", "rawvideo", "-pixel_format", "rgb24", "-video_size",
                                   std::to_string(width) + "x" + std::to_string(height),
                                   "-framerate", std::to_string(fps), "-i", "pipe:0"};
  if (format == Format::kGif) {
    // A single 256-colour palette fitted to the whole clip beats GIF's default fixed palette by far
    // (ffmpeg's palettegen/paletteuse); only changed rectangles are re-encoded between frames.
    args.insert(
        args.end(),
        {"-vf", "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=diff_mode=rectangle",
         "-loop", "0", "-f", "gif", out});
  } else {
    // yuv420p (what players expect) subsamples chroma 2x2, so both sides must be even.
    args.insert(args.end(), {"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white", "-c:v", "libx264",
                             "-pix_fmt", "yuv420p", "-preset", "medium", "-crf", "20", "-movflags",
                             "+faststart", "-f", "mp4", out});
  }
  return args;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

AnimationWriter::AnimationWriter(std::filesystem::path path, int width, int height, int fps)
    : path_(std::move(path)), width_(width), height_(height) {
  const Format format = format_of(path_);
  if (width <= 0 || height <= 0 || fps <= 0)
    throw Error("cannot record to '" + path_.string() + "': size " + std::to_string(width) + "x" +
                std::to_string(height) + " and fps " + std::to_string(fps) + " must be positive");

  // The temporary sits beside the destination so that rename() is atomic; creating it here also
  // tells early (before any frame) whether the folder can be written.
  const std::filesystem::path dir =
      path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + path_.filename().string() + ".tmp-XXXXXX")).string();
  const int temp_fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (temp_fd < 0)
    throw Error("cannot record to '" + path_.string() + "': cannot create a file in '" +
                dir.string() + "': " + std::strerror(errno));
  ::fchmod(temp_fd, 0644);  // mkostemp makes it private; the recording is an ordinary output file
  ::close(temp_fd);
  temp_path_ = temp;

  // ffmpeg's stderr goes to an anonymous file: a pipe would need a reader thread so that a
  // chatty ffmpeg never blocks while we block writing its stdin.
  std::string log = (std::filesystem::temp_directory_path() / "trustrl-ffmpeg-XXXXXX").string();
  stderr_fd_ = ::mkostemp(log.data(), O_CLOEXEC);
  if (stderr_fd_ < 0) {
    const int err = errno;
    ::unlink(temp_path_.c_str());
    throw Error("cannot record to '" + path_.string() +
                "': cannot create a temporary file for ffmpeg's messages: " + std::strerror(err));
  }
  ::unlink(log.c_str());

  // A socket pair rather than a pipe: send(MSG_NOSIGNAL) then reports a dead ffmpeg as EPIPE
  // without raising SIGPIPE, which would kill the whole process.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    const int err = errno;
    ::unlink(temp_path_.c_str());
    close_fd(stderr_fd_);
    throw Error("cannot record to '" + path_.string() +
                "': cannot create a pipe to ffmpeg: " + std::strerror(err));
  }

  // "file:" keeps ffmpeg from reading a colon in the name as a protocol (e.g. "rtmp:").
  const std::vector<std::string> args =
      ffmpeg_arguments(format, width, height, fps, "file:" + temp_path_.string());
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd_, STDERR_FILENO);
  const int rc = ::posix_spawnp(&pid_, "ffmpeg", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    ::unlink(temp_path_.c_str());
    close_fd(stderr_fd_);
    pid_ = -1;
    if (rc == ENOENT)
      throw Error(
          "cannot record to '" + path_.string() +
          "': ffmpeg is not on PATH; install it (Debian package 'ffmpeg': apt-get install ffmpeg)");
    throw Error("cannot record to '" + path_.string() +
                "': cannot start ffmpeg: " + std::strerror(rc));
  }
  input_fd_ = sv[0];
}

AnimationWriter::~AnimationWriter() {
  if (state_ == State::kOpen) {
    // Abandoned (usually an exception elsewhere): stop ffmpeg rather than let it finish a file.
    close_fd(input_fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    ::unlink(temp_path_.c_str());
  }
  close_fd(stderr_fd_);
}

void AnimationWriter::add(const Frame& frame) {
  if (state_ != State::kOpen)
    throw Error("cannot add a frame to '" + path_.string() + "': the recording is " +
                (state_ == State::kClosed ? "closed" : "failed"));
  const std::size_t want = static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_) * 3;
  if (frame.width != width_ || frame.height != height_ || frame.rgb.size() != want)
    throw Error("cannot add a frame to '" + path_.string() + "': it is " +
                std::to_string(frame.width) + "x" + std::to_string(frame.height) + " with " +
                std::to_string(frame.rgb.size()) + " bytes, the recording is " +
                std::to_string(width_) + "x" + std::to_string(height_) + " (" +
                std::to_string(want) + " bytes)");
  const std::uint8_t* data = frame.rgb.data();
  std::size_t left = want;
  while (left > 0) {
    const ssize_t n = ::send(input_fd_, data, left, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close_fd(input_fd_);
      const std::optional<std::string> why = finish_child();
      fail("recording '" + path_.string() + "' failed at frame " + std::to_string(frames_ + 1) +
           ": " +
           why.value_or(std::string("ffmpeg stopped reading frames: ") + std::strerror(err)));
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ++frames_;
}

void AnimationWriter::close() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kFailed)
    throw Error("cannot close '" + path_.string() + "': the recording failed");
  close_fd(input_fd_);
  if (frames_ == 0) {
    finish_child();
    fail("cannot record to '" + path_.string() + "': no frames were added");
  }
  if (const std::optional<std::string> why = finish_child())
    fail("recording '" + path_.string() + "' failed: " + *why);

  std::error_code ec;
  const auto size = std::filesystem::file_size(temp_path_, ec);
  if (ec || size == 0)
    fail("recording '" + path_.string() + "' failed: ffmpeg exited cleanly but wrote nothing");
  // Make the bytes durable before the name points at them.
  const int fd = ::open(temp_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail("cannot move the recording into '" + path_.string() + "': " + std::strerror(errno));
  state_ = State::kClosed;
}

std::optional<std::string> AnimationWriter::finish_child() {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  pid_ = -1;
  if (r < 0) return std::string("cannot wait for ffmpeg: ") + std::strerror(errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
  return "ffmpeg ended with " + describe_status(status) + ": " + ffmpeg_stderr_tail();
}

void AnimationWriter::fail(const std::string& message) {
  close_fd(input_fd_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  ::unlink(temp_path_.c_str());
  state_ = State::kFailed;
  throw Error(message);
}

std::string AnimationWriter::ffmpeg_stderr_tail() const {
  // The last few lines, joined into one: errors are one line for the user.
  constexpr off_t kTailBytes = 4096;
  constexpr std::size_t kTailLines = 3;
  const off_t size = ::lseek(stderr_fd_, 0, SEEK_END);
  if (size <= 0) return "(ffmpeg printed nothing)";
  const off_t start = std::max<off_t>(0, size - kTailBytes);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  const ssize_t n = ::pread(stderr_fd_, text.data(), text.size(), start);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
    pos = end + 1;
  }
  if (lines.empty()) return "(ffmpeg printed nothing)";
  std::string tail;
  for (std::size_t i = lines.size() > kTailLines ? lines.size() - kTailLines : 0; i < lines.size();
       ++i)
    tail += (tail.empty() ? "" : " | ") + lines[i];
  return tail;
}

}  // namespace trustrl::envs
