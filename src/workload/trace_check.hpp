// Checks a routing-trace file from elsewhere before and while reading it: root attributes
// (present, typed, within TraceLimits, consistent), every dataset's class, rank, extent (equal
// to the attributes), chunk size and filters before any read, then the values (expert ids in
// [0, E), distinct within a token's top-k, gate weights finite and >= 0, families and phases in
// range). Everything raises InputError "PATH: where: what was expected". Internal.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "core/trace.hpp"
#include "workload/trace_file.hpp"
#include "workload/trace_h5.hpp"

namespace moeb::trace_check {

// Root attributes and the family table.
TraceHeader read_header(hid_t file, const std::string& path);

// Opens dataset `name` (an absolute path) after checking that it exists, that its type is of
// class `cls` (at most 8 bytes), its extent is exactly `dims` and its chunks are small enough
// to read and use filters this libhdf5 has.
trace_h5::Id open_dataset(hid_t file, const char* name, H5T_class_t cls,
                          const std::vector<hsize_t>& dims, hid_t dapl, const std::string& path);

// The per-token metadata, checked (family in the table, phase 0/1, position >= 0).
std::vector<TokenMeta> read_metas(hid_t file, const TraceHeader& h, const std::string& path);

// Streams both routing datasets once and checks every value.
void scan_routing(hid_t experts, hid_t weights, const TraceHeader& h, const std::string& path);

// Ids (k of them) in [0, E) and distinct.
bool topk_ok(const int32_t* ids, int k, int num_experts);
// Throws when an id of `ids` (k of them) is outside [0, E) or repeated; `where` names the place.
void check_topk(const int32_t* ids, int k, int num_experts, const std::string& path,
                const std::string& where);

}  // namespace moeb::trace_check
