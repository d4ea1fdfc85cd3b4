#include "cli/option_checks.h"

#include <charconv>

namespace trustrl::cli {

CLI::Validator non_empty(const std::string& what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string {
        return value.empty() ? "is empty; give " + what + " or leave the option out" : "";
      },
      "NON-EMPTY");
}

CLI::Validator whole_number_up_to(std::uint64_t max) {
  return CLI::Validator(
      [max](std::string& value) -> std::string {
        std::uint64_t x = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
        if (value.empty() || end != value.data() + value.size() ||
            (ec != std::errc() && ec != std::errc::result_out_of_range))
          return "'" + value + "' is not a whole number >= 0";
        if (ec == std::errc::result_out_of_range || x > max)
          return "'" + value + "' is beyond " + std::to_string(max) + ", the largest allowed";
        return "";
      },
      "UINT<=" + std::to_string(max));
}

}  // namespace trustrl::cli
