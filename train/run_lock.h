// One run per output folder, and no litter from runs that died.
//
// OutputFolderLock holds an advisory lock (flock(LOCK_EX | LOCK_NB)) on DIR/.frcnn-lock for
// its lifetime, so a second `frcnn train` on the same --out fails at once instead of the two
// interleaving their checkpoints and metrics. The kernel drops the lock when the process
// dies, however it dies, so a crashed run never leaves the folder locked; the file itself
// stays (unlinking it would let a third run lock a fresh inode while a second still holds
// the old one). The file holds the owner's pid, for the message.
//
// remove_stale_temp_files() deletes the `<name>.tmp.<pid>` files that write_file_atomic
// (engine/safetensors.h) leaves behind when its process is killed between writing and
// renaming, and only those whose pid is no longer alive. Taking the lock runs it on the
// folder: every run that holds a folder starts without a dead run's litter.
#pragma once
#include <string>
#include <vector>

namespace frcnn {

class OutputFolderLock {
 public:
  // Creates DIR if needed, then removes its stale temp files (remove_stale_temp_files).
  // Throws std::runtime_error naming DIR (and the other run's pid, when it recorded one) if
  // another process holds the lock; nothing is removed then.
  explicit OutputFolderLock(const std::string& dir);
  ~OutputFolderLock();
  OutputFolderLock(const OutputFolderLock&) = delete;
  OutputFolderLock& operator=(const OutputFolderLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;  // DIR/.frcnn-lock
  int fd_ = -1;
};

// Removes the regular files directly in `dir` named `<name>.tmp.<pid>` whose pid names no
// live process (kill(pid, 0) fails with ESRCH), logging each; a live or unknown pid (EPERM:
// another user's process) keeps its file, and nothing else is touched. Returns the paths
// removed. A missing `dir` is not an error.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

}  // namespace frcnn
