#include "core/error.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <typeinfo>

namespace moeb {

std::string source_location_prefix(const char* file, int line) {
  std::string f(file);
  auto pos = f.rfind("/src/");
  if (pos != std::string::npos) f = f.substr(pos + 1);
  return f + ":" + std::to_string(line) + ": ";
}

namespace {

std::string type_name(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(t.name());
}

}  // namespace

std::string current_exception_message() noexcept {
  try {
    try {
      throw;
    } catch (const Error& e) {
      return e.what();
    } catch (const std::bad_alloc&) {
      return "out of memory (std::bad_alloc)";
    } catch (const std::exception& e) {
      return std::string(e.what()) + " (" + type_name(typeid(e)) + ")";
    } catch (...) {
      return "unknown exception";
    }
  } catch (...) {
    return "out of memory while describing an error";
  }
}

}  // namespace moeb
