#pragma once
// One dataset object per run: what a model's entry loads once, typed, and hands on to its
// builder, the trainer and its report — nothing is read twice, nothing hides in a static cache.
#include <memory>
#include <string>

#include "app/audio_data.h"
#include "factorch/error.h"
#include "factorch/train/trainer.h"

namespace factorch::app {

/// Base of a model's own typed data (TL-NMF's frames and signals, DL-NMF's speaker sets, …).
struct DatasetPart {
  virtual ~DatasetPart() = default;
};

struct Dataset {
  Dataset() = default;
  /// A dataset that is only a matrix (derived data: per-source spectrograms, baselines).
  Dataset(TrainingData m) : matrix(std::move(m)) {}  // NOLINT: implicit on purpose

  TrainingData matrix;                     ///< what the trainer fits (CPU, float64)
  std::shared_ptr<const AudioData> audio;  ///< the audio behind it, when the data is audio
  std::shared_ptr<const DatasetPart> part; ///< the model's own typed data, if any

  /// The model's own data as T; throws when the entry stored another type (a programming error).
  template <class T>
  const T& get() const {
    const auto* p = dynamic_cast<const T*>(part.get());
    require(p != nullptr, "dataset: the model's data is not of the expected type");
    return *p;
  }
  template <class T>
  std::shared_ptr<const T> shared() const {
    auto p = std::dynamic_pointer_cast<const T>(part);
    require(p != nullptr, "dataset: the model's data is not of the expected type");
    return p;
  }
};

}  // namespace factorch::app
