// The storage both hosts' protocol nodes (nfs, file) live on, e.g. one NFS server.
#pragma once

namespace handoff::impl {

// It either answers or it does not: while it does not, every operation that needs I/O on a
// protocol node (qcow2 metadata flush, qcow2 re-open, image locking, bdrv_flush_all, guest
// writes) fails with -EIO. A real NFS hard mount would hang instead; an error is what QEMU sees
// once the request times out (soft mount, or libnfs), and it is what the seed report shows.
class SharedStorage {
  public:
    bool answering() const { return answering_; }
    void stop_answering() { answering_ = false; }
    void come_back() { answering_ = true; }

  private:
    bool answering_ = true;
};

} // namespace handoff::impl
