// Compiled as a source of the separation layer (its include tree; ctest
// layering.upward_quoted_include_does_not_compile): a models header is a layer up, so this
// must fail to compile on exactly that header.
#include "factorch/models/nmf.h"
