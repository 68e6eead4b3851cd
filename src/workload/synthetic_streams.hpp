// Stream ids of the synthetic generator's counter-based draws (synthetic.cpp, synthetic_v2.cpp):
// they keep the draws of different purposes independent. Append only (values are pinned).
#pragma once

#include <cstdint>

namespace moeb::synthetic_streams {

enum Stream : uint64_t {
  kPermStream = 1,
  kDecodeStream,
  kHotStream,
  kLengthStream,
  kFamilyStream,
  kRecurStream,
  kBlockStream,
  kPickStream,
  kFallbackStream,
  kWeightStream,
  kPickV2Stream,  // generator_version 2: block, groups and experts of a (token, layer)
  kNumStreams,
};

}  // namespace moeb::synthetic_streams
