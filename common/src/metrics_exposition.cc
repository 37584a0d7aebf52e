#include "stockfeed/common/metrics_exposition.h"

#include <cmath>

#include <fmt/format.h>

namespace stockfeed::metrics {
namespace {

// HELP text escapes backslash and newline; label values also the double quote.
void AppendEscaped(std::string& out, absl::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

class TextSink final : public FamilySink {
 public:
  TextSink(std::string& out, const Family& family) : out_(out), family_(family) {}

  void Value(double value) override { Sample(family_.name, {}, {}, value); }

  void Labeled(size_t label_index, double value) override {
    if (label_index >= family_.labels.values.size()) return;  // bounded: no value outside the declared set
    Sample(family_.name, family_.labels.name, family_.labels.values[label_index], value);
  }

  void Histogram(const HistogramSnapshot& snapshot) override {
    const std::string bucket = family_.name + "_bucket";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < snapshot.counts.size(); ++i) {
      cumulative += snapshot.counts[i];
      const double bound = i < snapshot.bounds.size() ? snapshot.bounds[i] : INFINITY;
      Sample(bucket, "le", FormatSampleValue(bound), static_cast<double>(cumulative));
    }
    Sample(family_.name + "_sum", {}, {}, snapshot.sum);
    Sample(family_.name + "_count", {}, {}, static_cast<double>(cumulative));
  }

 private:
  void Sample(absl::string_view name, absl::string_view label, absl::string_view label_value, double value) {
    out_.append(name.data(), name.size());
    if (!label.empty()) {
      out_ += '{';
      out_.append(label.data(), label.size());
      out_ += "=\"";
      AppendEscaped(out_, label_value, true);
      out_ += "\"}";
    }
    out_ += ' ';
    out_ += FormatSampleValue(value);
    out_ += '\n';
  }

  std::string& out_;
  const Family& family_;
};

absl::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string ExposePrometheusText(const Registry& registry) {
  std::string out;
  registry.Visit([&out](const Family& family) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    AppendEscaped(out, family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    const absl::string_view type = TypeName(family.type);
    out.append(type.data(), type.size());
    out += '\n';
    TextSink sink(out, family);
    family.collect(sink);
  });
  return out;
}

}  // namespace stockfeed::metrics
