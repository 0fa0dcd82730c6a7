#pragma once
// The figures moved to the library's plot layer (factorch/plot/figure.h). This forwarding
// header only keeps report_figures.cpp unchanged while another branch edits it; it goes
// when that file includes "factorch/plot/figure.h" itself.
#include "factorch/plot/figure.h"
