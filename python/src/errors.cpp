// factorch::Error and LibTorch's errors as Python exceptions with the library's one-line
// message (no C++ backtrace): bad values → ValueError, LibTorch's typed errors keep their
// Python type, anything else from LibTorch → RuntimeError.
#include <c10/util/Exception.h>

#include "bindings.h"
#include "factorch/error.h"

namespace factorch::python {

namespace {
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }
}  // namespace

void Kwargs::finish() const {
  if (kwargs_.empty()) return;
  std::string names;
  for (auto item : kwargs_) names += (names.empty() ? "'" : ", '") + std::string(py::str(item.first)) + "'";
  throw py::type_error(owner_ + ": unknown option" + (kwargs_.size() > 1 ? "s " : " ") + names);
}

void bind_errors(py::module& m) {
  // Local: applies to this extension's functions only (pybind11's internals are shared with
  // torch._C, whose own errors keep torch's translation).
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, first_line(e.what()).c_str());
    } catch (const c10::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, first_line(e.what_without_backtrace()).c_str());
    } catch (const c10::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, first_line(e.what_without_backtrace()).c_str());
    } catch (const c10::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, first_line(e.what_without_backtrace()).c_str());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, first_line(e.what_without_backtrace()).c_str());
    }
  });
}

}  // namespace factorch::python
