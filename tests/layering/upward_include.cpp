// Compiled with the library's include path only (ctest layering.upward_include_does_not_compile):
// an app header must not be reachable from the library layers, so this must fail to compile.
#include "app/config.h"
