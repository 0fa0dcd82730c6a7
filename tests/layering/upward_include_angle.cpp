// Compiled as a source of the core layer (its include tree; ctest
// layering.upward_angle_include_does_not_compile): angle brackets reach no further than
// quotes, so a models header must not be found.
#include <factorch/models/nmf.h>
