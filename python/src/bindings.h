#pragma once
// Shared by the files of the extension factorch._C: one bind_* function per concept, and
// the conversions every binding needs (keyword arguments → C++ options, one-line errors).
#include <string>
#include <type_traits>

#include <torch/python.h>
#include <pybind11/pybind11.h>

namespace factorch::python {

namespace py = pybind11;

void bind_errors(py::module& m);   // errors.cpp
void bind_models(py::module& m);   // models.cpp
void bind_other_models(py::module& m);  // models_other.cpp
void bind_grid_models(py::module& m);   // models_grid.cpp
void bind_sklearn(py::module& m);  // sklearn.cpp
void bind_signal(py::module& m);   // signal.cpp
void bind_eval(py::module& m);     // eval.cpp
void bind_io(py::module& m);       // io.cpp
void bind_runs(py::module& m);     // runs.cpp (links factorch_app)

/// Keyword arguments taken one by one: whatever is left at the end is an unknown option,
/// reported as a TypeError naming it (Python's own wording for unexpected keywords).
class Kwargs {
 public:
  Kwargs(py::kwargs kwargs, std::string owner) : kwargs_(std::move(kwargs)), owner_(std::move(owner)) {}
  template <class T, class Setter>
  void take(const char* name, Setter&& set) {
    if (!kwargs_.contains(name)) return;
    py::object value = kwargs_[name];
    try {
      set(value.cast<T>());
    } catch (const py::cast_error&) {
      throw py::type_error(owner_ + ": " + name + " must be " + type_name<T>() + ", got " +
                           std::string(py::str(value.get_type().attr("__name__"))));
    }
    PyDict_DelItemString(kwargs_.ptr(), name);
  }
  /// Throws TypeError when a keyword was not taken.
  void finish() const;

 private:
  template <class T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, bool>) return "a bool";
    else if constexpr (std::is_integral_v<T>) return "an int";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a str";
    else return "a list";
  }
  py::kwargs kwargs_;
  std::string owner_;
};

}  // namespace factorch::python
