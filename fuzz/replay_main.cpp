// Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without libFuzzer, so that the
// seeds and the crash reproducers of fuzz/regressions/ run as ordinary tests in every build
// (and under the sanitizer builds), and fuzzes without clang by random mutation:
//   TARGET FILE_OR_DIR...                                  replay every input
//   TARGET --mutate=N [--seed=S] FILE_OR_DIR...            then N mutants of them
// Mutants are not coverage-guided (libFuzzer, scripts/fuzz.sh, is): each is a replayed input
// with 1 to 8 edits (bit flips, interesting bytes and numbers, inserted, erased or repeated
// ranges, a splice with another input), drawn from S (default 1), so a run is reproducible.
// A crash, a sanitizer report, an uncaught exception or more than $MOEB_REPLAY_TIMEOUT_S seconds
// (default 10) on one input ends the program with a failure and leaves that input in
// $MOEB_REPLAY_ARTIFACTS (default /dev/shm, else the working directory) as crash-TARGET-PID;
// copy it to fuzz/regressions/TARGET/ once fixed.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present in sanitizer runtimes only (gcc and clang): called before a report ends the process.

namespace {

// Each input is written here before it runs and removed when the program ends normally, so a
// crash, a sanitizer report, an uncaught exception, a timeout or a kill leaves the input behind.
std::string g_artifact;

void on_alarm(int) {
  static const char msg[] = "replay: timeout on one input (MOEB_REPLAY_TIMEOUT_S)\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(1);
}

void install_handlers(const std::string& target) {
  const char* env = std::getenv("MOEB_REPLAY_ARTIFACTS");
  const std::string dir = env && *env ? env : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : ".";
  g_artifact = dir + "/crash-" + target + "-" + std::to_string(::getpid());
  ::signal(SIGALRM, on_alarm);
  std::set_terminate([] {
    std::fputs("replay: uncaught exception\n", stderr);
    std::abort();
  });
}

unsigned timeout_s() {
  const char* t = std::getenv("MOEB_REPLAY_TIMEOUT_S");
  return t && *t ? static_cast<unsigned>(std::strtoul(t, nullptr, 10)) : 10u;
}

void run_one(const std::string& bytes) {
  {
    std::ofstream out(g_artifact, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ::alarm(timeout_s());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ::alarm(0);
}

// One random edit of `s` (`other`: another input, for splices).
void mutate_once(std::string& s, const std::string& other, std::mt19937_64& rng) {
  static const char* const kNumbers[] = {"0",          "-1",         "1e300",     "nan",
                                         "inf",        "-0",         "2147483647", "2147483648",
                                         "4294967295", "4294967296", "1e9",        "65537",
                                         "9223372036854775807",      "0.5",        ""};
  static const uint8_t kBytes[] = {0, 1, 0x7f, 0x80, 0xff, '"', ',', '\n', '[', '{', '=', '-'};
  auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  switch (rng() % 8) {
    case 0:  // flip a bit
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:  // an interesting byte
      if (!s.empty()) s[pick(s.size())] = static_cast<char>(kBytes[pick(sizeof kBytes)]);
      break;
    case 2: {  // a number where a digit run was (text formats)
      const size_t at = pick(s.size());
      size_t b = at, e = at;
      while (b > 0 && std::isdigit(static_cast<unsigned char>(s[b - 1]))) --b;
      while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
      s.replace(b, e - b, kNumbers[pick(std::size(kNumbers))]);
      break;
    }
    case 3:  // random bytes inserted
      s.insert(pick(s.size() + 1), std::string(1 + pick(8), static_cast<char>(rng())));
      break;
    case 4:  // a range erased
      if (!s.empty()) {
        const size_t at = pick(s.size());
        s.erase(at, 1 + pick(std::min<size_t>(64, s.size() - at)));
      }
      break;
    case 5:  // a range repeated
      if (!s.empty() && s.size() < (1u << 20)) {
        const size_t at = pick(s.size());
        s.insert(at, s.substr(at, 1 + pick(256)));
      }
      break;
    case 6:  // truncated
      s.resize(pick(s.size() + 1));
      break;
    default:  // spliced with another input
      s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
      break;
  }
}

std::string read_file(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  long mutants = 0;
  uint64_t seed = 1;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--mutate=", 0) == 0) {
      mutants = std::strtol(a.c_str() + 9, nullptr, 10);
    } else if (a.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(a.c_str() + 7, nullptr, 10);
    } else if (fs::is_directory(a)) {
      for (const auto& e : fs::directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::exists(a)) {
      files.push_back(a);
    }
  }
  std::sort(files.begin(), files.end());  // the same order everywhere: mutants repeat
  install_handlers(fs::path(argv[0]).filename().string());
  std::printf("replay: each input is written to %s before it runs (kept if it fails)\n",
              g_artifact.c_str());
  std::vector<std::string> inputs;
  for (const auto& f : files) {
    inputs.push_back(read_file(f));
    std::printf("%s (%zu bytes)\n", f.string().c_str(), inputs.back().size());
    std::fflush(stdout);
    run_one(inputs.back());
  }
  std::printf("%zu inputs replayed, none crashed\n", inputs.size());
  if (mutants <= 0 || inputs.empty()) {
    std::remove(g_artifact.c_str());
    return 0;
  }
  std::mt19937_64 rng(seed);
  for (long n = 0; n < mutants; ++n) {
    std::string s = inputs[rng() % inputs.size()];
    const std::string& other = inputs[rng() % inputs.size()];
    for (int k = 1 + static_cast<int>(rng() % 8); k > 0; --k) mutate_once(s, other, rng);
    run_one(s);
  }
  std::remove(g_artifact.c_str());
  std::printf("%ld mutants (seed %llu) run, none crashed\n", mutants,
              static_cast<unsigned long long>(seed));
  return 0;
}
