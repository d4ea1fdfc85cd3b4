#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace trustrl {
namespace {

enum class Activation { kTanh, kRelu };

struct Inner {
  double learning_rate = 3e-4;
  std::int64_t epochs = 4;
  std::optional<double> target_kl;
  void visit(ConfigVisitor& v) {
    v.field("learning_rate", learning_rate, "Adam step size", Bounds::positive());
    v.field("epochs", epochs, "passes over each batch", Bounds::at_least(1));
    v.field("target_kl", target_kl, "early-stop KL, null for off", Bounds::positive());
  }
};

struct Outer {
  std::string env = "CartPole-v1";
  bool anneal = true;
  std::vector<std::int64_t> hidden = {64, 64};
  Activation activation = Activation::kTanh;
  std::string mode = "sync";
  OptionMap options;
  Inner ppo;
  void visit(ConfigVisitor& v) {
    v.field("env", env, "env id");
    v.field("anneal", anneal, "anneal the LR");
    v.field("hidden", hidden, "hidden sizes", Bounds::at_least(1));
    v.choice("activation", activation, {{"tanh", Activation::kTanh}, {"relu", Activation::kRelu}},
             "hidden activation");
    v.choice("mode", mode, {"sync", "async"}, "collection mode");
    v.field("options", options, "env options");
    v.section("ppo", ppo, "PPO settings");
  }
};

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  Outer c;
  try {
    read_config(c, yaml, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MissingKeysKeepDefaults) {
  Outer c;
  read_config(c, "env: Acrobot-v1\n");
  EXPECT_EQ(c.env, "Acrobot-v1");
  EXPECT_DOUBLE_EQ(c.ppo.learning_rate, 3e-4);
  EXPECT_EQ(c.hidden, (std::vector<std::int64_t>{64, 64}));
}

TEST(Config, ReadsEveryKind) {
  Outer c;
  read_config(c, R"(
env: Pendulum-v1
anneal: false
hidden: [32, 16]
activation: relu
mode: async
options: {g: 9.81, continuous: true}
ppo:
  learning_rate: 1e-3
  epochs: 10
  target_kl: 0.01
)");
  EXPECT_FALSE(c.anneal);
  EXPECT_EQ(c.hidden, (std::vector<std::int64_t>{32, 16}));
  EXPECT_EQ(c.activation, Activation::kRelu);
  EXPECT_EQ(c.mode, "async");
  EXPECT_EQ(c.options.at("g"), "9.81");
  EXPECT_EQ(c.options.at("continuous"), "true");
  EXPECT_DOUBLE_EQ(c.ppo.learning_rate, 1e-3);
  EXPECT_EQ(c.ppo.epochs, 10);
  ASSERT_TRUE(c.ppo.target_kl.has_value());
  EXPECT_DOUBLE_EQ(*c.ppo.target_kl, 0.01);
}

TEST(Config, UnknownKeyIsNamedWithASuggestion) {
  const std::string e = error_of("ppo:\n  learnin_rate: 0.1\n");
  EXPECT_NE(e.find("unknown config key 'ppo.learnin_rate'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'ppo.learning_rate'"), std::string::npos) << e;
  EXPECT_NE(error_of("bogus: 1\n").find("'bogus'"), std::string::npos);
}

TEST(Config, DuplicateKeysAreRefusedWithBothLines) {
  std::string e = error_of("env: CartPole-v1\nanneal: true\nenv: Acrobot-v1\n");
  EXPECT_NE(e.find("key 'env' appears twice, at lines 1 and 3"), std::string::npos) << e;
  e = error_of("ppo:\n  epochs: 4\n  learning_rate: 0.1\n  epochs: 8\n");
  EXPECT_NE(e.find("key 'ppo.epochs' appears twice, at lines 2 and 4"), std::string::npos) << e;
  e = error_of("ppo: {epochs: 4, epochs: 8}\n");
  EXPECT_NE(e.find("key 'ppo.epochs' appears twice"), std::string::npos) << e;
  EXPECT_EQ(error_of("env: CartPole-v1\nppo: {epochs: 4}\n"), "");
}

TEST(Config, FileReadsAreBoundedAndNameTheProblem) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("trustrl_config_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Outer c;
  auto error_reading = [&](const std::string& path) -> std::string {
    try {
      read_config_file(c, path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  std::string e = error_reading(dir.string());
  EXPECT_NE(e.find("config file '" + dir.string() + "' is a directory"), std::string::npos) << e;
  if (fs::exists("/dev/zero")) {
    e = error_reading("/dev/zero");
    EXPECT_NE(e.find("config file '/dev/zero' is larger than 1 MiB"), std::string::npos) << e;
  }
  const fs::path big = dir / "big.yaml";
  {
    std::ofstream out(big);
    out << "hidden: [";
    for (std::size_t i = 0; i < kMaxConfigBytes / 2; ++i) out << "1,";
    out << "1]\n";
  }
  e = error_reading(big.string());
  EXPECT_NE(e.find("is larger than 1 MiB"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(Config, OutOfRangeValueNamesKeyAndBound) {
  const std::string e = error_of("ppo: {learning_rate: -0.001}\n");
  EXPECT_NE(e.find("ppo.learning_rate"), std::string::npos) << e;
  EXPECT_NE(e.find("> 0"), std::string::npos) << e;
  EXPECT_NE(error_of("ppo: {epochs: 0}").find("ppo.epochs: must be >= 1"), std::string::npos);
  EXPECT_NE(error_of("hidden: [64, 0]").find("hidden[1]"), std::string::npos);
}

TEST(Config, WrongTypesAreNamed) {
  EXPECT_NE(error_of("ppo: {learning_rate: fast}").find("expected a number"), std::string::npos);
  EXPECT_NE(error_of("ppo: {epochs: 2.5}").find("whole number"), std::string::npos);
  EXPECT_NE(error_of("anneal: maybe").find("true or false"), std::string::npos);
  EXPECT_NE(error_of("activation: sigmoid").find("not one of: tanh, relu"), std::string::npos);
  EXPECT_NE(error_of("ppo: 3").find("expected a mapping"), std::string::npos);
  EXPECT_NE(error_of("ppo: {learning_rate: .nan}").find("finite"), std::string::npos);
  EXPECT_NE(error_of("env: [a, b]").find("expected a string"), std::string::npos);
  EXPECT_NE(error_of("ppo: {epochs: 1\n").find("not valid YAML"), std::string::npos);
}

TEST(Config, NullTurnsOptionalOff) {
  Outer c;
  c.ppo.target_kl = 0.5;
  read_config(c, "ppo: {target_kl: null}");
  EXPECT_FALSE(c.ppo.target_kl.has_value());
}

TEST(Config, UnderscoresInNumbers) {
  Outer c;
  read_config(c, "ppo: {epochs: 1_000}");
  EXPECT_EQ(c.ppo.epochs, 1000);
}

TEST(Config, OverridesApplyBeforeValidation) {
  Outer c;
  read_config(c, "ppo: {epochs: 3}", {"ppo.epochs=7", "hidden=[8]", "ppo.target_kl=0.02", "env=X"});
  EXPECT_EQ(c.ppo.epochs, 7);
  EXPECT_EQ(c.hidden, (std::vector<std::int64_t>{8}));
  EXPECT_DOUBLE_EQ(*c.ppo.target_kl, 0.02);
  EXPECT_EQ(c.env, "X");
  // The file's out-of-range value is replaced before anything is checked.
  EXPECT_EQ(error_of("ppo: {epochs: 0}", {"ppo.epochs=2"}), "");
  EXPECT_NE(error_of("", {"ppo.epoch=3"}).find("unknown config key 'ppo.epoch'"),
            std::string::npos);
  EXPECT_NE(error_of("", {"ppo.epochs"}).find("key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"ppo.learning_rate=-1"}).find("ppo.learning_rate"), std::string::npos);
}

TEST(Config, WriteThenReadRoundTrips) {
  Outer a;
  a.env = "weird: name";
  a.anneal = false;
  a.hidden = {3, 5, 7};
  a.activation = Activation::kRelu;
  a.options = {{"g", "9.81"}};
  a.ppo.learning_rate = 0.000123456789;
  a.ppo.target_kl = 0.015;
  const std::string yaml = write_config(a);
  EXPECT_NE(yaml.find("# Adam step size"), std::string::npos) << yaml;
  Outer b;
  read_config(b, yaml);
  EXPECT_EQ(b.env, a.env);
  EXPECT_EQ(b.anneal, a.anneal);
  EXPECT_EQ(b.hidden, a.hidden);
  EXPECT_EQ(b.activation, a.activation);
  EXPECT_EQ(b.options, a.options);
  EXPECT_EQ(b.ppo.learning_rate, a.ppo.learning_rate);
  EXPECT_EQ(b.ppo.target_kl, a.ppo.target_kl);
  EXPECT_EQ(write_config(b), yaml);
}

TEST(Config, DescribeListsEveryKey) {
  Outer c;
  const std::string d = describe_config(c);
  EXPECT_NE(d.find("ppo.learning_rate = 0.0003  (> 0)  Adam step size"), std::string::npos) << d;
  EXPECT_NE(d.find("activation = tanh  (tanh|relu)"), std::string::npos) << d;
}

}  // namespace
}  // namespace trustrl
