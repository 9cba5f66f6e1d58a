package health.tutti.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Ranked, explained suggestions for a person's next intervention, and the
 * feedback that teaches the engine what works for them.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class RecommendationServiceGrpc {

  private RecommendationServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tutti.v1.RecommendationService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.RecommendRequest,
      health.tutti.v1.RecommendResponse> getRecommendMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Recommend",
      requestType = health.tutti.v1.RecommendRequest.class,
      responseType = health.tutti.v1.RecommendResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.RecommendRequest,
      health.tutti.v1.RecommendResponse> getRecommendMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.RecommendRequest, health.tutti.v1.RecommendResponse> getRecommendMethod;
    if ((getRecommendMethod = RecommendationServiceGrpc.getRecommendMethod) == null) {
      synchronized (RecommendationServiceGrpc.class) {
        if ((getRecommendMethod = RecommendationServiceGrpc.getRecommendMethod) == null) {
          RecommendationServiceGrpc.getRecommendMethod = getRecommendMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.RecommendRequest, health.tutti.v1.RecommendResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Recommend"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecommendRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecommendResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RecommendationServiceMethodDescriptorSupplier("Recommend"))
              .build();
        }
      }
    }
    return getRecommendMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.RecordFeedbackRequest,
      health.tutti.v1.RecordFeedbackResponse> getRecordFeedbackMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordFeedback",
      requestType = health.tutti.v1.RecordFeedbackRequest.class,
      responseType = health.tutti.v1.RecordFeedbackResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.RecordFeedbackRequest,
      health.tutti.v1.RecordFeedbackResponse> getRecordFeedbackMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.RecordFeedbackRequest, health.tutti.v1.RecordFeedbackResponse> getRecordFeedbackMethod;
    if ((getRecordFeedbackMethod = RecommendationServiceGrpc.getRecordFeedbackMethod) == null) {
      synchronized (RecommendationServiceGrpc.class) {
        if ((getRecordFeedbackMethod = RecommendationServiceGrpc.getRecordFeedbackMethod) == null) {
          RecommendationServiceGrpc.getRecordFeedbackMethod = getRecordFeedbackMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.RecordFeedbackRequest, health.tutti.v1.RecordFeedbackResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordFeedback"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecordFeedbackRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecordFeedbackResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RecommendationServiceMethodDescriptorSupplier("RecordFeedback"))
              .build();
        }
      }
    }
    return getRecordFeedbackMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static RecommendationServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceStub>() {
        @java.lang.Override
        public RecommendationServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RecommendationServiceStub(channel, callOptions);
        }
      };
    return RecommendationServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static RecommendationServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceBlockingV2Stub>() {
        @java.lang.Override
        public RecommendationServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RecommendationServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return RecommendationServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static RecommendationServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceBlockingStub>() {
        @java.lang.Override
        public RecommendationServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RecommendationServiceBlockingStub(channel, callOptions);
        }
      };
    return RecommendationServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static RecommendationServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RecommendationServiceFutureStub>() {
        @java.lang.Override
        public RecommendationServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RecommendationServiceFutureStub(channel, callOptions);
        }
      };
    return RecommendationServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Ranks interventions for a person. Every call is logged as a decision with
     * its propensities so that it can be evaluated off-policy later. For a tenant
     * in shadow mode the ranking is logged but not shown: the platform keeps
     * showing its own choice (see RecommendRequest.platform_intervention_id).
     * </pre>
     */
    default void recommend(health.tutti.v1.RecommendRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecommendResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecommendMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reports what happened after a recommendation.
     * </pre>
     */
    default void recordFeedback(health.tutti.v1.RecordFeedbackRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecordFeedbackResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordFeedbackMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service RecommendationService.
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public static abstract class RecommendationServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return RecommendationServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service RecommendationService.
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public static final class RecommendationServiceStub
      extends io.grpc.stub.AbstractAsyncStub<RecommendationServiceStub> {
    private RecommendationServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RecommendationServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RecommendationServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Ranks interventions for a person. Every call is logged as a decision with
     * its propensities so that it can be evaluated off-policy later. For a tenant
     * in shadow mode the ranking is logged but not shown: the platform keeps
     * showing its own choice (see RecommendRequest.platform_intervention_id).
     * </pre>
     */
    public void recommend(health.tutti.v1.RecommendRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecommendResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecommendMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reports what happened after a recommendation.
     * </pre>
     */
    public void recordFeedback(health.tutti.v1.RecordFeedbackRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecordFeedbackResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordFeedbackMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service RecommendationService.
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public static final class RecommendationServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<RecommendationServiceBlockingV2Stub> {
    private RecommendationServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RecommendationServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RecommendationServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Ranks interventions for a person. Every call is logged as a decision with
     * its propensities so that it can be evaluated off-policy later. For a tenant
     * in shadow mode the ranking is logged but not shown: the platform keeps
     * showing its own choice (see RecommendRequest.platform_intervention_id).
     * </pre>
     */
    public health.tutti.v1.RecommendResponse recommend(health.tutti.v1.RecommendRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRecommendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports what happened after a recommendation.
     * </pre>
     */
    public health.tutti.v1.RecordFeedbackResponse recordFeedback(health.tutti.v1.RecordFeedbackRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRecordFeedbackMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service RecommendationService.
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public static final class RecommendationServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<RecommendationServiceBlockingStub> {
    private RecommendationServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RecommendationServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RecommendationServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Ranks interventions for a person. Every call is logged as a decision with
     * its propensities so that it can be evaluated off-policy later. For a tenant
     * in shadow mode the ranking is logged but not shown: the platform keeps
     * showing its own choice (see RecommendRequest.platform_intervention_id).
     * </pre>
     */
    public health.tutti.v1.RecommendResponse recommend(health.tutti.v1.RecommendRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecommendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports what happened after a recommendation.
     * </pre>
     */
    public health.tutti.v1.RecordFeedbackResponse recordFeedback(health.tutti.v1.RecordFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordFeedbackMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service RecommendationService.
   * <pre>
   * Ranked, explained suggestions for a person's next intervention, and the
   * feedback that teaches the engine what works for them.
   * </pre>
   */
  public static final class RecommendationServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<RecommendationServiceFutureStub> {
    private RecommendationServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RecommendationServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RecommendationServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Ranks interventions for a person. Every call is logged as a decision with
     * its propensities so that it can be evaluated off-policy later. For a tenant
     * in shadow mode the ranking is logged but not shown: the platform keeps
     * showing its own choice (see RecommendRequest.platform_intervention_id).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.RecommendResponse> recommend(
        health.tutti.v1.RecommendRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecommendMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reports what happened after a recommendation.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.RecordFeedbackResponse> recordFeedback(
        health.tutti.v1.RecordFeedbackRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordFeedbackMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_RECOMMEND = 0;
  private static final int METHODID_RECORD_FEEDBACK = 1;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RECOMMEND:
          serviceImpl.recommend((health.tutti.v1.RecommendRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.RecommendResponse>) responseObserver);
          break;
        case METHODID_RECORD_FEEDBACK:
          serviceImpl.recordFeedback((health.tutti.v1.RecordFeedbackRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.RecordFeedbackResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getRecommendMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.RecommendRequest,
              health.tutti.v1.RecommendResponse>(
                service, METHODID_RECOMMEND)))
        .addMethod(
          getRecordFeedbackMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.RecordFeedbackRequest,
              health.tutti.v1.RecordFeedbackResponse>(
                service, METHODID_RECORD_FEEDBACK)))
        .build();
  }

  private static abstract class RecommendationServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    RecommendationServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return health.tutti.v1.RecommendationProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("RecommendationService");
    }
  }

  private static final class RecommendationServiceFileDescriptorSupplier
      extends RecommendationServiceBaseDescriptorSupplier {
    RecommendationServiceFileDescriptorSupplier() {}
  }

  private static final class RecommendationServiceMethodDescriptorSupplier
      extends RecommendationServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    RecommendationServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (RecommendationServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new RecommendationServiceFileDescriptorSupplier())
              .addMethod(getRecommendMethod())
              .addMethod(getRecordFeedbackMethod())
              .build();
        }
      }
    }
    return result;
  }
}
