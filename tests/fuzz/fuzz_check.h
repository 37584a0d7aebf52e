#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant the code under fuzzing must keep: a violation is a finding,
// reported like a crash so libFuzzer saves the input.
#define FUZZ_CHECK(condition)                                                     \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                               \
    }                                                                             \
  } while (false)
