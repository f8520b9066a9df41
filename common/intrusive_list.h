// A minimal intrusive doubly-linked list: nodes embed their links, so inserting and removing
// never allocates. Used for idle connection pools and a worker's live connections.
#pragma once

#include <cstddef>

namespace common {

struct ListNode {
  ListNode* prev = nullptr;
  ListNode* next = nullptr;
  bool linked() const { return prev != nullptr; }
};

// T must derive from ListNode (once per list it is in; use a tag base for several lists).
template <typename T, typename Node = ListNode>
class IntrusiveList {
 public:
  IntrusiveList() { head_.prev = head_.next = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_.next == &head_; }
  size_t size() const { return size_; }
  void pushBack(T* item) { insertBefore(&head_, node(item)); }
  void pushFront(T* item) { insertBefore(head_.next, node(item)); }
  T* front() const { return empty() ? nullptr : static_cast<T*>(static_cast<Node*>(head_.next)); }
  T* back() const { return empty() ? nullptr : static_cast<T*>(static_cast<Node*>(head_.prev)); }
  void remove(T* item) {
    if (item == nullptr) return;
    Node* n = node(item);
    if (!n->linked()) return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = nullptr;
    --size_;
  }
  T* popFront() {
    T* f = front();
    if (f) remove(f);
    return f;
  }
  // Calls fn(T*) for each item; fn may remove the current item.
  template <typename Fn>
  void forEach(Fn fn) {
    ListNode* n = head_.next;
    while (n != &head_) {
      ListNode* next = n->next;
      fn(static_cast<T*>(static_cast<Node*>(n)));
      n = next;
    }
  }

 private:
  static Node* node(T* item) { return static_cast<Node*>(item); }
  void insertBefore(ListNode* pos, Node* n) {
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
    ++size_;
  }
  ListNode head_;
  size_t size_ = 0;
};

}  // namespace common
