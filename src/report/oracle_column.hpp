// The report's "of oracle" column (docs/REPORT.md): in a file with an oracle row (the `optimal`
// strategy fitted on the evaluation batches, core/oracle_figure.hpp), every strategy's
// reduction of the oracle's objective against the reference, over the oracle's reduction,
// taken inside the file like every ratio. Pure.
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.hpp"

namespace moeb::report {

// Sets figures.whole["of_oracle"] of every sample with data, against the reference and the
// oracle row of the sample's own sweep cell (NaN where the reference or the oracle has no
// value, or the oracle reduces nothing). Returns an oracle row's objective, "" when the file
// has none (then nothing is set).
std::string add_of_oracle(std::vector<Sample>& samples, const std::string& reference);

}  // namespace moeb::report
