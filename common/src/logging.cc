#include "stockfeed/common/logging.h"

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace stockfeed {
namespace {

// Line breaks (and the indentation after them, as in libpq's messages) become
// one space: a log line is one event.
std::string Folded(absl::string_view message) {
  while (!message.empty() && absl::ascii_isspace(static_cast<unsigned char>(message.back()))) {
    message.remove_suffix(1);
  }
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' || message[i] == '\r') {
      while (i + 1 < message.size() && absl::ascii_isspace(static_cast<unsigned char>(message[i + 1]))) ++i;
      out += ' ';
    } else {
      out += message[i];
    }
  }
  return out;
}

void AppendJsonString(std::string& out, absl::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    const std::string line =
        FormatLogLine(format_, msg.time, absl::string_view(msg.logger_name.data(), msg.logger_name.size()),
                      absl::string_view(level.data(), level.size()),
                      absl::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_); }

 private:
  const LogFormat format_;
};

}  // namespace

std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point time, absl::string_view logger,
                          absl::string_view level, absl::string_view message) {
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", absl::FromChrono(time), absl::LocalTimeZone());
  if (format == LogFormat::kText) return absl::StrCat(ts, " ", logger, " ", level, " ", Folded(message), "\n");
  std::string out = "{\"ts\":\"" + ts + "\",\"level\":";
  AppendJsonString(out, level);
  out += ",\"logger\":";
  AppendJsonString(out, logger);
  out += ",\"msg\":";
  AppendJsonString(out, Folded(message));
  out += "}\n";
  return out;
}

absl::Status InitLogging(absl::string_view process_name, absl::string_view level, absl::string_view format,
                         bool access_log) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for anything it does not know; only accept that when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid log level '", level, "' (expected trace, debug, info, warn, error or off)"));
  }
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError(absl::StrCat("invalid --log_format '", format, "' (expected text or json)"));
  }
  const LogFormat log_format = format == "json" ? LogFormat::kJson : LogFormat::kText;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<LineFormatter>(log_format));

  auto logger = std::make_shared<spdlog::logger>(std::string(process_name), sink);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  // Access lines share the sink; --access_log=false turns just them off.
  auto access = std::make_shared<spdlog::logger>("access", sink);
  access->set_level(access_log ? parsed : spdlog::level::off);
  access->flush_on(spdlog::level::trace);
  spdlog::drop("access");
  spdlog::register_logger(access);
  return absl::OkStatus();
}

void LogAccess(absl::string_view connection, absl::string_view method, absl::string_view target, unsigned status,
               uint64_t bytes, std::chrono::steady_clock::duration duration) {
  const std::shared_ptr<spdlog::logger> access = spdlog::get("access");
  if (access == nullptr || !access->should_log(spdlog::level::info)) return;
  const absl::string_view path = target.substr(0, target.find('?'));
  access->info("peer={} method={} path={} status={} bytes={} duration_ms={:.3f}", connection, method, path, status, bytes,
               std::chrono::duration<double, std::milli>(duration).count());
}

}  // namespace stockfeed
