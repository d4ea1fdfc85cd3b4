#include "envs/check.h"

#include <exception>

namespace trustrl::envs {

ConformanceCheck run_check(const std::string& name, const std::function<std::string()>& body) {
  ConformanceCheck c{name, false, ""};
  try {
    c.detail = body();
    c.passed = true;
  } catch (const CheckFailed& f) {
    c.detail = f.what();
  } catch (const std::exception& e) {
    c.detail = std::string("threw: ") + e.what();
  }
  return c;
}

}  // namespace trustrl::envs
