// Fixture for ctest layering.rules_names_every_offender: cmake/check_layers.cmake run on
// tests/layering/rules_fixture must report exactly the two includes marked "bad".
#include <torch/torch.h>                           // outside the project: fine
#include <factorch/error.h>                        // core from core: fine
#include "factorch/divergence.h"                   // core from core: fine
#include <factorch/models/nmf.h>                   // bad: a layer up, angle brackets
#include "../../include/factorch/models/nmf.h"     // bad: steps out of the include tree
