// Containing libhdf5 on untrusted files (docs/DEVELOPING.md, "Hostile input": the HDF5 library).
// libhdf5 (1.10.8 in Debian 12) crashes or spins inside its own parser on some malformed files,
// mostly while it reads variable-length data from a corrupt global heap (H5HG_read), which
// moebench's attribute strings and family names are. Nothing moebench can check before the
// read tells such a file apart, so the first read of a file happens in a child process.
#pragma once

#include <functional>
#include <string>

namespace moeb::h5 {

// Reads the structure of the HDF5 file at `path` in a forked child first: every object it
// links, every attribute, every variable-length value, the data of every dataset up to 16 MiB,
// then closes the file and the library. A crash (any signal), an abnormal exit or a read that
// makes no progress for the time limit (MOEB_HDF5_GUARD_TIMEOUT_S, default 60 s: no dataset
// read and no object visited, guard_progress; so a spin inside one libhdf5 call ends there,
// and a large, well-formed file is read to its end) ends the child, not this process, and
// throws InputError: "PATH: the HDF5 library crashed (SIGSEGV)
// reading the file's structure; the file is malformed ...". Errors libhdf5
// reports cleanly are left to the real read that follows. Nothing is done for a path checked
// before, when the guard is off (set_guard), or when MPI is up: fork() after MPI_Init is unsafe
// with some Open MPI transports, so `moebench run` checks its trace and resume files before
// MPI_Init (guard_untrusted_file on each) and every command without MPI on first open.
// `read`, when given, runs in the child after that (moebench's own reading of the file, e.g. a
// TraceReader's header and checks, in the same order): libhdf5's defects depend on what was
// read before, so the real read is the surest test. Its exceptions are ignored there; the
// guard is off inside the child. Files are remembered per `what` (the reader's name).
void guard_untrusted_file(const std::string& path, const char* what = "structure",
                          const std::function<void()>& read = {});

// Off: every file is read in this process (fuzzing libhdf5 itself, fuzz/README.md "HDF5").
void set_guard(bool on);
// True inside the guard's child: there an open does not wait for another process's file lock
// (h5.hpp), it fails at once and leaves the waiting to the real read.
bool in_guard_child();
// Inside the guard's child: tells the parent that the read goes on (a dataset was read, an
// object visited), at most every 100 ms; elsewhere nothing. The h5 readers call it.
void guard_progress();
// Every file is checked again on its next open (a fuzz target writes each input to one path).
void forget_checked_files();

}  // namespace moeb::h5
