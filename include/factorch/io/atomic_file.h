#pragma once
// Outputs are never left half-written: data goes to "<path>.tmp-<pid>-<n>" in the same
// directory and is renamed over <path> only once complete (rename is atomic on POSIX).
#include <functional>
#include <string>
#include <vector>

namespace factorch::io {

/// Calls write(tmp_path) and renames tmp_path to `path` on success; on any exception the
/// temporary file is removed and the exception propagates. Creates parent directories.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

/// Writes `bytes` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Reads a whole file; throws factorch::Error naming the file if it cannot be opened.
std::string read_file(const std::string& path);

}  // namespace factorch::io
