#pragma once
// Checks on arrays a simulator sent, shared by the single- and multi-agent answer readers.

#include <cmath>
#include <cstddef>
#include <string>

#include "core/text.h"
#include "server/env_protocol/convert.h"

namespace trustrl::server {

/// Throws ProtocolError unless `field` has `expected` values.
template <class Repeated>
void expect_size(const Repeated& field, std::size_t expected, const std::string& source,
                 const std::string& name, const std::string& shape) {
  if (static_cast<std::size_t>(field.size()) != expected)
    throw ProtocolError(source + " sent " + std::to_string(field.size()) + " values in " + name +
                        ", expected " + std::to_string(expected) + " (" + shape + ")");
}

/// Throws ProtocolError at the first non-finite value of a [rows, dim] array.
template <class T>
void expect_finite(const T* values, std::size_t rows, std::size_t dim, const std::string& source,
                   const std::string& name, const std::string& row_name) {
  for (std::size_t k = 0; k < rows * dim; ++k)
    if (!std::isfinite(values[k]))
      throw ProtocolError(source + " sent " + format_number(static_cast<double>(values[k])) +
                          " in " + name + " of " + row_name + " " + std::to_string(k / dim) +
                          " (component " + std::to_string(k % dim) +
                          "); every value must be finite");
}

}  // namespace trustrl::server
