package health.tutti.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * The processes a tenant measures and the interventions it can recommend: the
 * built-in catalogue plus the tenant's own interventions.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class CatalogServiceGrpc {

  private CatalogServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tutti.v1.CatalogService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.ListProcessesRequest,
      health.tutti.v1.ListProcessesResponse> getListProcessesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListProcesses",
      requestType = health.tutti.v1.ListProcessesRequest.class,
      responseType = health.tutti.v1.ListProcessesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.ListProcessesRequest,
      health.tutti.v1.ListProcessesResponse> getListProcessesMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.ListProcessesRequest, health.tutti.v1.ListProcessesResponse> getListProcessesMethod;
    if ((getListProcessesMethod = CatalogServiceGrpc.getListProcessesMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getListProcessesMethod = CatalogServiceGrpc.getListProcessesMethod) == null) {
          CatalogServiceGrpc.getListProcessesMethod = getListProcessesMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.ListProcessesRequest, health.tutti.v1.ListProcessesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListProcesses"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListProcessesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListProcessesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("ListProcesses"))
              .build();
        }
      }
    }
    return getListProcessesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.ListInterventionsRequest,
      health.tutti.v1.ListInterventionsResponse> getListInterventionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListInterventions",
      requestType = health.tutti.v1.ListInterventionsRequest.class,
      responseType = health.tutti.v1.ListInterventionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.ListInterventionsRequest,
      health.tutti.v1.ListInterventionsResponse> getListInterventionsMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.ListInterventionsRequest, health.tutti.v1.ListInterventionsResponse> getListInterventionsMethod;
    if ((getListInterventionsMethod = CatalogServiceGrpc.getListInterventionsMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getListInterventionsMethod = CatalogServiceGrpc.getListInterventionsMethod) == null) {
          CatalogServiceGrpc.getListInterventionsMethod = getListInterventionsMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.ListInterventionsRequest, health.tutti.v1.ListInterventionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListInterventions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListInterventionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListInterventionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("ListInterventions"))
              .build();
        }
      }
    }
    return getListInterventionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.GetInterventionRequest,
      health.tutti.v1.GetInterventionResponse> getGetInterventionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetIntervention",
      requestType = health.tutti.v1.GetInterventionRequest.class,
      responseType = health.tutti.v1.GetInterventionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.GetInterventionRequest,
      health.tutti.v1.GetInterventionResponse> getGetInterventionMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.GetInterventionRequest, health.tutti.v1.GetInterventionResponse> getGetInterventionMethod;
    if ((getGetInterventionMethod = CatalogServiceGrpc.getGetInterventionMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getGetInterventionMethod = CatalogServiceGrpc.getGetInterventionMethod) == null) {
          CatalogServiceGrpc.getGetInterventionMethod = getGetInterventionMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.GetInterventionRequest, health.tutti.v1.GetInterventionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetIntervention"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetInterventionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetInterventionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("GetIntervention"))
              .build();
        }
      }
    }
    return getGetInterventionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.CreateInterventionRequest,
      health.tutti.v1.CreateInterventionResponse> getCreateInterventionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateIntervention",
      requestType = health.tutti.v1.CreateInterventionRequest.class,
      responseType = health.tutti.v1.CreateInterventionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.CreateInterventionRequest,
      health.tutti.v1.CreateInterventionResponse> getCreateInterventionMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.CreateInterventionRequest, health.tutti.v1.CreateInterventionResponse> getCreateInterventionMethod;
    if ((getCreateInterventionMethod = CatalogServiceGrpc.getCreateInterventionMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getCreateInterventionMethod = CatalogServiceGrpc.getCreateInterventionMethod) == null) {
          CatalogServiceGrpc.getCreateInterventionMethod = getCreateInterventionMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.CreateInterventionRequest, health.tutti.v1.CreateInterventionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateIntervention"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.CreateInterventionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.CreateInterventionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("CreateIntervention"))
              .build();
        }
      }
    }
    return getCreateInterventionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.UpdateInterventionRequest,
      health.tutti.v1.UpdateInterventionResponse> getUpdateInterventionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateIntervention",
      requestType = health.tutti.v1.UpdateInterventionRequest.class,
      responseType = health.tutti.v1.UpdateInterventionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.UpdateInterventionRequest,
      health.tutti.v1.UpdateInterventionResponse> getUpdateInterventionMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.UpdateInterventionRequest, health.tutti.v1.UpdateInterventionResponse> getUpdateInterventionMethod;
    if ((getUpdateInterventionMethod = CatalogServiceGrpc.getUpdateInterventionMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getUpdateInterventionMethod = CatalogServiceGrpc.getUpdateInterventionMethod) == null) {
          CatalogServiceGrpc.getUpdateInterventionMethod = getUpdateInterventionMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.UpdateInterventionRequest, health.tutti.v1.UpdateInterventionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateIntervention"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.UpdateInterventionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.UpdateInterventionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("UpdateIntervention"))
              .build();
        }
      }
    }
    return getUpdateInterventionMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CatalogServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceStub>() {
        @java.lang.Override
        public CatalogServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceStub(channel, callOptions);
        }
      };
    return CatalogServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static CatalogServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingV2Stub>() {
        @java.lang.Override
        public CatalogServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return CatalogServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CatalogServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingStub>() {
        @java.lang.Override
        public CatalogServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceBlockingStub(channel, callOptions);
        }
      };
    return CatalogServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CatalogServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceFutureStub>() {
        @java.lang.Override
        public CatalogServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceFutureStub(channel, callOptions);
        }
      };
    return CatalogServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Lists the processes people rate, with their poles and scale.
     * </pre>
     */
    default void listProcesses(health.tutti.v1.ListProcessesRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListProcessesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListProcessesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists interventions, paged and filtered.
     * </pre>
     */
    default void listInterventions(health.tutti.v1.ListInterventionsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListInterventionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListInterventionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Gets one intervention.
     * </pre>
     */
    default void getIntervention(health.tutti.v1.GetInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetInterventionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetInterventionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Adds a tenant's own intervention beside the built-in catalogue.
     * </pre>
     */
    default void createIntervention(health.tutti.v1.CreateInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.CreateInterventionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateInterventionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes a tenant's own intervention. Built-in interventions cannot be changed.
     * </pre>
     */
    default void updateIntervention(health.tutti.v1.UpdateInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.UpdateInterventionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateInterventionMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service CatalogService.
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public static abstract class CatalogServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return CatalogServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service CatalogService.
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public static final class CatalogServiceStub
      extends io.grpc.stub.AbstractAsyncStub<CatalogServiceStub> {
    private CatalogServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the processes people rate, with their poles and scale.
     * </pre>
     */
    public void listProcesses(health.tutti.v1.ListProcessesRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListProcessesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListProcessesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists interventions, paged and filtered.
     * </pre>
     */
    public void listInterventions(health.tutti.v1.ListInterventionsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListInterventionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListInterventionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Gets one intervention.
     * </pre>
     */
    public void getIntervention(health.tutti.v1.GetInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetInterventionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetInterventionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Adds a tenant's own intervention beside the built-in catalogue.
     * </pre>
     */
    public void createIntervention(health.tutti.v1.CreateInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.CreateInterventionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateInterventionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes a tenant's own intervention. Built-in interventions cannot be changed.
     * </pre>
     */
    public void updateIntervention(health.tutti.v1.UpdateInterventionRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.UpdateInterventionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateInterventionMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service CatalogService.
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public static final class CatalogServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<CatalogServiceBlockingV2Stub> {
    private CatalogServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the processes people rate, with their poles and scale.
     * </pre>
     */
    public health.tutti.v1.ListProcessesResponse listProcesses(health.tutti.v1.ListProcessesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListProcessesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists interventions, paged and filtered.
     * </pre>
     */
    public health.tutti.v1.ListInterventionsResponse listInterventions(health.tutti.v1.ListInterventionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListInterventionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets one intervention.
     * </pre>
     */
    public health.tutti.v1.GetInterventionResponse getIntervention(health.tutti.v1.GetInterventionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetInterventionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a tenant's own intervention beside the built-in catalogue.
     * </pre>
     */
    public health.tutti.v1.CreateInterventionResponse createIntervention(health.tutti.v1.CreateInterventionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateInterventionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a tenant's own intervention. Built-in interventions cannot be changed.
     * </pre>
     */
    public health.tutti.v1.UpdateInterventionResponse updateIntervention(health.tutti.v1.UpdateInterventionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateInterventionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service CatalogService.
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public static final class CatalogServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<CatalogServiceBlockingStub> {
    private CatalogServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the processes people rate, with their poles and scale.
     * </pre>
     */
    public health.tutti.v1.ListProcessesResponse listProcesses(health.tutti.v1.ListProcessesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListProcessesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists interventions, paged and filtered.
     * </pre>
     */
    public health.tutti.v1.ListInterventionsResponse listInterventions(health.tutti.v1.ListInterventionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListInterventionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets one intervention.
     * </pre>
     */
    public health.tutti.v1.GetInterventionResponse getIntervention(health.tutti.v1.GetInterventionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetInterventionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a tenant's own intervention beside the built-in catalogue.
     * </pre>
     */
    public health.tutti.v1.CreateInterventionResponse createIntervention(health.tutti.v1.CreateInterventionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateInterventionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a tenant's own intervention. Built-in interventions cannot be changed.
     * </pre>
     */
    public health.tutti.v1.UpdateInterventionResponse updateIntervention(health.tutti.v1.UpdateInterventionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateInterventionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service CatalogService.
   * <pre>
   * The processes a tenant measures and the interventions it can recommend: the
   * built-in catalogue plus the tenant's own interventions.
   * </pre>
   */
  public static final class CatalogServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<CatalogServiceFutureStub> {
    private CatalogServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the processes people rate, with their poles and scale.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.ListProcessesResponse> listProcesses(
        health.tutti.v1.ListProcessesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListProcessesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists interventions, paged and filtered.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.ListInterventionsResponse> listInterventions(
        health.tutti.v1.ListInterventionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListInterventionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Gets one intervention.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.GetInterventionResponse> getIntervention(
        health.tutti.v1.GetInterventionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetInterventionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Adds a tenant's own intervention beside the built-in catalogue.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.CreateInterventionResponse> createIntervention(
        health.tutti.v1.CreateInterventionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateInterventionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes a tenant's own intervention. Built-in interventions cannot be changed.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.UpdateInterventionResponse> updateIntervention(
        health.tutti.v1.UpdateInterventionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateInterventionMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_LIST_PROCESSES = 0;
  private static final int METHODID_LIST_INTERVENTIONS = 1;
  private static final int METHODID_GET_INTERVENTION = 2;
  private static final int METHODID_CREATE_INTERVENTION = 3;
  private static final int METHODID_UPDATE_INTERVENTION = 4;

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
        case METHODID_LIST_PROCESSES:
          serviceImpl.listProcesses((health.tutti.v1.ListProcessesRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.ListProcessesResponse>) responseObserver);
          break;
        case METHODID_LIST_INTERVENTIONS:
          serviceImpl.listInterventions((health.tutti.v1.ListInterventionsRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.ListInterventionsResponse>) responseObserver);
          break;
        case METHODID_GET_INTERVENTION:
          serviceImpl.getIntervention((health.tutti.v1.GetInterventionRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.GetInterventionResponse>) responseObserver);
          break;
        case METHODID_CREATE_INTERVENTION:
          serviceImpl.createIntervention((health.tutti.v1.CreateInterventionRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.CreateInterventionResponse>) responseObserver);
          break;
        case METHODID_UPDATE_INTERVENTION:
          serviceImpl.updateIntervention((health.tutti.v1.UpdateInterventionRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.UpdateInterventionResponse>) responseObserver);
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
          getListProcessesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.ListProcessesRequest,
              health.tutti.v1.ListProcessesResponse>(
                service, METHODID_LIST_PROCESSES)))
        .addMethod(
          getListInterventionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.ListInterventionsRequest,
              health.tutti.v1.ListInterventionsResponse>(
                service, METHODID_LIST_INTERVENTIONS)))
        .addMethod(
          getGetInterventionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.GetInterventionRequest,
              health.tutti.v1.GetInterventionResponse>(
                service, METHODID_GET_INTERVENTION)))
        .addMethod(
          getCreateInterventionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.CreateInterventionRequest,
              health.tutti.v1.CreateInterventionResponse>(
                service, METHODID_CREATE_INTERVENTION)))
        .addMethod(
          getUpdateInterventionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.UpdateInterventionRequest,
              health.tutti.v1.UpdateInterventionResponse>(
                service, METHODID_UPDATE_INTERVENTION)))
        .build();
  }

  private static abstract class CatalogServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CatalogServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return health.tutti.v1.CatalogProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CatalogService");
    }
  }

  private static final class CatalogServiceFileDescriptorSupplier
      extends CatalogServiceBaseDescriptorSupplier {
    CatalogServiceFileDescriptorSupplier() {}
  }

  private static final class CatalogServiceMethodDescriptorSupplier
      extends CatalogServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    CatalogServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (CatalogServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CatalogServiceFileDescriptorSupplier())
              .addMethod(getListProcessesMethod())
              .addMethod(getListInterventionsMethod())
              .addMethod(getGetInterventionMethod())
              .addMethod(getCreateInterventionMethod())
              .addMethod(getUpdateInterventionMethod())
              .build();
        }
      }
    }
    return result;
  }
}
