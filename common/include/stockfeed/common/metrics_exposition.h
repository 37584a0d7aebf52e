// The one function that turns a metrics registry into what Prometheus scrapes.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "stockfeed/common/metrics.h"

namespace stockfeed::metrics {

// Content-Type of the text exposition format 0.0.4.
inline constexpr absl::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Every family of `registry` in the Prometheus text format 0.0.4: HELP and
// TYPE lines, label values escaped, histograms as cumulative _bucket series
// with le="+Inf", _sum and _count.
std::string ExposePrometheusText(const Registry& registry);

// A sample value as the format wants it: shortest exact decimal, +Inf, -Inf, NaN.
std::string FormatSampleValue(double value);

}  // namespace stockfeed::metrics
