#pragma once
// Small string helpers shared by messages, configs and tables.

#include <string>
#include <string_view>
#include <vector>

namespace trustrl {

/// Shortest text that reads back as the same double ("0.0003", "1e-05", "100000").
std::string format_number(double x);
/// The same for a float: the shortest text that reads back as the same float ("4.8").
std::string format_number(float x);
std::vector<std::string> split(std::string_view text, char sep);
/// The candidate closest to `word` by edit distance, if close enough to be a likely typo; else "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
/// "1.23M", "45.6k", "789".
std::string human_count(double x);
/// "1h02m", "3m05s", "42s".
std::string human_duration(double seconds);

}  // namespace trustrl
