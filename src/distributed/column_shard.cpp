#include "factorch/distributed/column_shard.h"

#include <algorithm>

#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/signal/frames.h"

namespace factorch::distributed {

ColumnShard ColumnShard::split(int64_t total, int rank, int world_size) {
  require(world_size >= 1 && rank >= 0 && rank < world_size, "column shard: rank " + std::to_string(rank) +
                                                                  " of " + std::to_string(world_size));
  const int64_t base = total / world_size, extra = total % world_size;
  ColumnShard s;
  s.total = total;
  s.rank = rank;
  s.world_size = world_size;
  s.begin = rank * base + std::min<int64_t>(rank, extra);
  s.end = s.begin + base + (rank < extra ? 1 : 0);
  return s;
}

std::vector<int64_t> ColumnShard::counts() const {
  std::vector<int64_t> out;
  for (int r = 0; r < world_size; ++r) out.push_back(split(total, r, world_size).size());
  return out;
}

torch::Tensor ColumnShard::slice(const torch::Tensor& full, int64_t dim) const {
  require(full.size(dim) == total, "column shard: expected " + std::to_string(total) + " columns, got " +
                                       std::to_string(full.size(dim)));
  return full.slice(dim, begin, end);
}

void attach_shard(TrainingData& data, const ColumnShard& shard, const std::shared_ptr<Communicator>& communicator) {
  require(communicator != nullptr, "attach_shard: no communicator");
  auto s = std::make_shared<DataShard>();
  s->begin = shard.begin;
  s->end = shard.end;
  s->total = shard.total;
  s->rank = shard.rank;
  s->world_size = shard.world_size;
  s->sum = [communicator](torch::Tensor& t) { communicator->all_reduce_sum(t); };
  data.shard = std::move(s);
}

FrameSamples FrameSamples::of(const ColumnShard& shard, int64_t length, int64_t M, int64_t hop) {
  require(shard.size() >= 1, "frame samples: an empty shard");
  FrameSamples s;
  // Frame n starts at n·hop + offset (offset = −(M − hop): the zero padding on the left).
  s.first = shard.begin * hop + signal::frame_offset(M, hop, signal::FramePadding::Zero);
  s.span = (shard.size() - 1) * hop + M;
  s.read_begin = std::max<int64_t>(s.first, 0);
  s.read_end = std::min<int64_t>(s.first + s.span, length);
  // Every frame of the zero-padded framing overlaps the signal, so the range is never empty.
  require(s.read_end > s.read_begin, "frame samples: frames [" + std::to_string(shard.begin) + ", " +
                                         std::to_string(shard.end) + ") lie outside the " + std::to_string(length) +
                                         " samples");
  return s;
}

torch::Tensor FrameSamples::segment(const torch::Tensor& samples) const {
  require(samples.dim() == 2 && samples.size(1) == read_end - read_begin, "frame samples: expected C × " +
                                                                              std::to_string(read_end - read_begin));
  if (read_begin == first && read_end == first + span) return samples;
  torch::Tensor out = torch::zeros({samples.size(0), span}, samples.options());
  out.slice(1, read_begin - first, read_end - first).copy_(samples);
  return out;
}

torch::Tensor read_frame_segment(const std::string& path, const io::ReadOptions& options, const ColumnShard& shard,
                                 int64_t M, int64_t hop) {
  const io::AudioInfo info = io::read_wav_info(path);
  const FrameSamples s = FrameSamples::of(shard, info.frames, M, hop);
  return s.segment(io::read_wav_range(path, s.read_begin, s.read_end - s.read_begin, options).samples);
}

}  // namespace factorch::distributed
