#include "ingest/bus.h"

namespace shopfloor::ingest {

Bus::Subscription& Bus::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    bus_ = other.bus_;
    id_ = other.id_;
    other.bus_ = nullptr;
  }
  return *this;
}

void Bus::Subscription::Reset() {
  if (bus_ != nullptr) bus_->Unsubscribe(id_);
  bus_ = nullptr;
}

Bus::Bus() : subscribers_(std::make_shared<const List>()) {}
Bus::~Bus() = default;

uint64_t Bus::Add(Subscriber subscriber) {
  std::lock_guard lock(mu_);
  subscriber.id = next_id_++;
  auto next = std::make_shared<List>(*std::atomic_load(&subscribers_));
  next->push_back(std::move(subscriber));
  std::atomic_store(&subscribers_, std::shared_ptr<const List>(std::move(next)));
  return next_id_ - 1;
}

void Bus::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<List>(*std::atomic_load(&subscribers_));
  std::erase_if(*next, [id](const Subscriber& s) { return s.id == id; });
  std::atomic_store(&subscribers_, std::shared_ptr<const List>(std::move(next)));
}

Bus::Subscription Bus::SubscribeSamples(SampleHandler handler) {
  return Subscription(this, Add(Subscriber{0, std::move(handler), nullptr}));
}

Bus::Subscription Bus::SubscribeEvents(EventHandler handler) {
  return Subscription(this, Add(Subscriber{0, nullptr, std::move(handler)}));
}

void Bus::PublishSamples(const core::SampleBatch& batch) const {
  if (batch.empty()) return;
  samples_published_.fetch_add(batch.size(), std::memory_order_relaxed);
  std::shared_ptr<const List> list = std::atomic_load(&subscribers_);
  for (const Subscriber& s : *list) {
    if (s.on_samples) s.on_samples(batch);
  }
}

void Bus::PublishEvent(const Event& event) const {
  events_published_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const List> list = std::atomic_load(&subscribers_);
  for (const Subscriber& s : *list) {
    if (s.on_event) s.on_event(event);
  }
}

}  // namespace shopfloor::ingest
