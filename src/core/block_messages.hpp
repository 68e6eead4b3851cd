// How one peer's block of dispatch rows travels as point-to-point messages without a second
// copy of most rows. The block's rows are in token order; a maximal run of consecutive tokens is
// also a run of consecutive rows in the owner's input, so a run of at least `min_direct` rows
// goes as one message straight from the input (direct); the rows between such runs are packed
// into the send buffer (the permute) and go as one message. Sender and receiver cut a block the
// same way from its token ids alone (local or global: consecutiveness is the same), so every
// message has its matching receive.
#pragma once

#include <cstdint>
#include <vector>

namespace moeb {

struct BlockMessage {
  int64_t begin = 0, end = 0;  // rows of the block
  bool direct = false;         // from the input rows (else from the packed send buffer)
  bool operator==(const BlockMessage&) const = default;
};

// Appends the messages of a block whose row i carries token tokens[i] (ascending) to `out`, in
// row order: every row in exactly one message, none empty, two packed ones never adjacent.
template <class Id>
void cut_block(const Id* tokens, int64_t rows, int64_t min_direct, std::vector<BlockMessage>& out) {
  int64_t packed_from = 0;
  for (int64_t i = 0; i < rows;) {
    int64_t j = i + 1;
    while (j < rows && tokens[j] == tokens[j - 1] + 1) ++j;
    if (j - i >= min_direct) {
      if (packed_from < i) out.push_back({packed_from, i, false});
      out.push_back({i, j, true});
      packed_from = j;
    }
    i = j;
  }
  if (packed_from < rows) out.push_back({packed_from, rows, false});
}

}  // namespace moeb
