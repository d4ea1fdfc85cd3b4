// run_check: how a conformance check passes, fails, and reports an unexpected exception.

#include "envs/check.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/error.h"

namespace trustrl::envs {
namespace {

TEST(RunCheck, RecordsWhatAPassingCheckVerified) {
  const ConformanceCheck c = run_check("spec", [] { return std::string("4 observations"); });
  EXPECT_EQ(c.name, "spec");
  EXPECT_TRUE(c.passed);
  EXPECT_EQ(c.detail, "4 observations");
}

TEST(RunCheck, AFailedCheckKeepsItsMessageVerbatim) {
  const ConformanceCheck c = run_check(
      "reset", []() -> std::string { fail_check("reset returned 3 observations, expected 4"); });
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.detail, "reset returned 3 observations, expected 4");
}

TEST(RunCheck, AnotherExceptionFailsTheCheckSayingItThrew) {
  const ConformanceCheck c =
      run_check("step", []() -> std::string { throw std::out_of_range("index 9"); });
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.detail, "threw: index 9");
}

TEST(RunCheck, CheckFailedIsATrustrlError) {
  // Outside run_check it reads like any library error, so callers need no special case.
  try {
    fail_check("the spec is empty");
    FAIL() << "fail_check returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "the spec is empty");
  }
}

}  // namespace
}  // namespace trustrl::envs
