#include "server/env_protocol/session_client.h"

#include <cstdint>

namespace trustrl::server {

namespace {

// How long gRPC may take to hand back operations after a cancel; it does so at once in practice.
constexpr double kDrainTimeoutS = 30.0;

void* tag_of(int op) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(op) + 1); }
int op_of(void* tag) { return static_cast<int>(reinterpret_cast<std::intptr_t>(tag) - 1); }

}  // namespace

std::shared_ptr<grpc::Channel> make_channel(const Endpoint& endpoint) {
  check_address(endpoint.address, "server address", false);
  return grpc::CreateCustomChannel(endpoint.address, channel_credentials(endpoint.tls_ca_file),
                                   client_channel_arguments(endpoint.max_message_bytes));
}

grpc::Status get_server_info(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token, double timeout_s, wire::ServerInfo* info) {
  auto stub = wire::EnvService::NewStub(channel);
  grpc::ClientContext context;
  add_token(context, token);
  context.set_deadline(deadline_after(timeout_s));
  wire::GetSpecResponse response;
  grpc::Status status = stub->GetSpec(&context, wire::GetSpecRequest(), &response);
  if (status.ok()) *info = std::move(*response.mutable_server());
  return status;
}

SessionClient::SessionClient(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token)
    : stub_(wire::EnvService::NewStub(channel)) {
  add_token(context_, token);
  // The call's headers go out with the first request instead of in a round of their own (and
  // StartCall then completes no tag: it shares its operation set with Write).
  context_.set_initial_metadata_corked(true);
  stream_ = stub_->PrepareAsyncSession(&context_, &cq_);
  stream_->StartCall(nullptr);
}

SessionClient::~SessionClient() {
  if (!ended_) {
    context_.TryCancel();
    wait({kStart, kWrite, kRead, kWritesDone, kFinish}, kDrainTimeoutS);
    if (!pending_[kFinish]) {
      stream_->Finish(&final_status_, tag_of(kFinish));
      pending_[kFinish] = true;
    }
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

bool SessionClient::wait(std::initializer_list<Op> ops, double timeout_s) {
  const auto deadline = deadline_after(timeout_s);
  auto busy = [&] {
    for (const Op op : ops)
      if (pending_[op]) return true;
    return false;
  };
  while (busy()) {
    void* tag = nullptr;
    bool ok = false;
    const auto status = cq_.AsyncNext(&tag, &ok, deadline);
    if (status == grpc::CompletionQueue::TIMEOUT) return false;
    if (status == grpc::CompletionQueue::SHUTDOWN) return true;
    pending_[op_of(tag)] = false;
    if (!ok) failed_op_ = true;
  }
  return true;
}

grpc::Status SessionClient::end(const grpc::Status& fallback) {
  if (ended_) return final_status_;
  // The stream is over: let any operation still in flight fail, then read the final status.
  if (!wait({kStart, kWrite, kRead, kWritesDone}, kDrainTimeoutS)) {
    context_.TryCancel();
    wait({kStart, kWrite, kRead, kWritesDone}, kDrainTimeoutS);
  }
  stream_->Finish(&final_status_, tag_of(kFinish));
  pending_[kFinish] = true;
  if (!wait({kFinish}, kDrainTimeoutS)) {
    context_.TryCancel();
    wait({kFinish}, kDrainTimeoutS);
  }
  ended_ = true;
  if (final_status_.ok()) final_status_ = fallback;
  return final_status_;
}

grpc::Status SessionClient::timed_out(double timeout_s, const char* what) {
  context_.TryCancel();
  end(grpc::Status::OK);
  final_status_ = {grpc::StatusCode::DEADLINE_EXCEEDED, std::string("no ") + what + " within " +
                                                            std::to_string(timeout_s) +
                                                            " s; the session was cancelled"};
  return final_status_;
}

grpc::Status SessionClient::call(const wire::SessionRequest& request,
                                 wire::SessionResponse* response, double timeout_s) {
  if (ended_) return final_status_;
  stream_->Write(request, tag_of(kWrite));
  pending_[kWrite] = true;
  stream_->Read(response, tag_of(kRead));
  pending_[kRead] = true;
  if (!wait({kStart, kWrite, kRead}, timeout_s)) return timed_out(timeout_s, "answer");
  if (failed_op_)
    return end({grpc::StatusCode::UNAVAILABLE, "the server ended the session without answering"});
  return grpc::Status::OK;
}

grpc::Status SessionClient::send(const wire::SessionRequest& request, double timeout_s) {
  if (ended_) return final_status_;
  stream_->Write(request, tag_of(kWrite));
  pending_[kWrite] = true;
  if (!wait({kStart, kWrite}, timeout_s)) return timed_out(timeout_s, "room to send");
  if (failed_op_) return end({grpc::StatusCode::UNAVAILABLE, "the server ended the session"});
  return grpc::Status::OK;
}

grpc::Status SessionClient::receive(wire::SessionResponse* response, double timeout_s) {
  if (ended_) return final_status_;
  stream_->Read(response, tag_of(kRead));
  pending_[kRead] = true;
  if (!wait({kStart, kRead}, timeout_s)) return timed_out(timeout_s, "answer");
  if (failed_op_)
    return end({grpc::StatusCode::UNAVAILABLE, "the server ended the session without answering"});
  return grpc::Status::OK;
}

grpc::Status SessionClient::close(double timeout_s) {
  if (ended_) return final_status_;
  stream_->WritesDone(tag_of(kWritesDone));
  pending_[kWritesDone] = true;
  if (!wait({kStart, kWritesDone}, timeout_s)) return timed_out(timeout_s, "room to close");
  stream_->Finish(&final_status_, tag_of(kFinish));
  pending_[kFinish] = true;
  if (!wait({kFinish}, timeout_s)) return timed_out(timeout_s, "final status");
  ended_ = true;
  return final_status_;
}

}  // namespace trustrl::server
