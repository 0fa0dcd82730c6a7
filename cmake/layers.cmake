# The library's layers, bottom to top: the one map that both the build (CMakeLists.txt: one
# OBJECT library per layer, compiled against an include tree that holds only its own and lower
# layers' headers) and the include scan (cmake/check_layers.cmake) read. docs/architecture.md
# explains them. A layer may include headers of its own layer or of lower ones.
#
#   FACTORCH_LAYER_<name>_HEADERS  folders under include/ ("factorch" alone: the files at the
#                                  top of include/factorch/; any other folder: with subfolders)
#   FACTORCH_LAYER_<name>_SOURCES  folders of the sources (.cpp and private .h), with subfolders
set(FACTORCH_LAYERS core signal plot separation models train)

set(FACTORCH_LAYER_core_HEADERS factorch)
set(FACTORCH_LAYER_core_SOURCES src/core)
# Frames, windows, transforms; WAV/.npy/.pt files; BSS Eval: peers (eval writes through io).
set(FACTORCH_LAYER_signal_HEADERS factorch/signal factorch/io factorch/eval)
set(FACTORCH_LAYER_signal_SOURCES src/signal src/io src/eval)
# Labelled figures (Cairo PNGs) of run reports: above io (atomic writes, raw PNGs).
set(FACTORCH_LAYER_plot_HEADERS factorch/plot)
set(FACTORCH_LAYER_plot_SOURCES src/plot)
set(FACTORCH_LAYER_separation_HEADERS factorch/separation)
set(FACTORCH_LAYER_separation_SOURCES src/separation)
set(FACTORCH_LAYER_models_HEADERS factorch/models)
set(FACTORCH_LAYER_models_SOURCES models)
set(FACTORCH_LAYER_train_HEADERS factorch/train factorch/distributed)
set(FACTORCH_LAYER_train_SOURCES src/train src/distributed)

# The precompiled header is shared by every layer, so it holds LibTorch and std only: it is
# no layer's header (a factorch header in it would be visible to all of them).
set(FACTORCH_PCH_HEADER factorch/pch.h)

# Headers of one layer, as paths relative to <root>/include (e.g. factorch/signal/stft.h).
function(factorch_layer_headers root layer out)
  set(result)
  foreach(dir IN LISTS FACTORCH_LAYER_${layer}_HEADERS)
    if(dir STREQUAL "factorch")
      file(GLOB found RELATIVE ${root}/include CONFIGURE_DEPENDS ${root}/include/factorch/*.h)
    else()
      file(GLOB_RECURSE found RELATIVE ${root}/include CONFIGURE_DEPENDS ${root}/include/${dir}/*.h)
    endif()
    list(APPEND result ${found})
  endforeach()
  list(REMOVE_ITEM result ${FACTORCH_PCH_HEADER})
  list(SORT result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# Sources (.cpp) of one layer, as absolute paths.
function(factorch_layer_sources root layer out)
  set(result)
  foreach(dir IN LISTS FACTORCH_LAYER_${layer}_SOURCES)
    file(GLOB_RECURSE found CONFIGURE_DEPENDS ${root}/${dir}/*.cpp)
    list(APPEND result ${found})
  endforeach()
  list(SORT result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()
