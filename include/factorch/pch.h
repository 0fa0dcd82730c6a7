// Precompiled header: the expensive LibTorch and standard headers every TU needs.
// Library headers include only what they use; this file just makes builds faster.
#pragma once
#include <torch/torch.h>
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>
