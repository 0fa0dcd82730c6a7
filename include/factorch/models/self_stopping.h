#pragma once
// A model that ends its own training (early stopping on a validation score, as DL-NMF's
// rounds): the trainer asks after every step and stops there, with the model's reason as its
// stop reason, instead of running steps that change nothing and padding the history.
#include <string>

namespace factorch {

class SelfStopping {
 public:
  virtual ~SelfStopping() = default;
  /// "" while training should go on; once stopped, which state was kept and why
  /// ("early stop after round 6: kept round 4, …").
  virtual std::string early_stop() const = 0;
};

}  // namespace factorch
