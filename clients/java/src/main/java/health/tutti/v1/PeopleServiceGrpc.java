package health.tutti.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * People in therapy, their repeated process ratings and what their data show.
 * People are known by pseudonymous ids only: never send a name, e-mail or
 * record number as an id.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PeopleServiceGrpc {

  private PeopleServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tutti.v1.PeopleService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.CreatePersonRequest,
      health.tutti.v1.CreatePersonResponse> getCreatePersonMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreatePerson",
      requestType = health.tutti.v1.CreatePersonRequest.class,
      responseType = health.tutti.v1.CreatePersonResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.CreatePersonRequest,
      health.tutti.v1.CreatePersonResponse> getCreatePersonMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.CreatePersonRequest, health.tutti.v1.CreatePersonResponse> getCreatePersonMethod;
    if ((getCreatePersonMethod = PeopleServiceGrpc.getCreatePersonMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getCreatePersonMethod = PeopleServiceGrpc.getCreatePersonMethod) == null) {
          PeopleServiceGrpc.getCreatePersonMethod = getCreatePersonMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.CreatePersonRequest, health.tutti.v1.CreatePersonResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreatePerson"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.CreatePersonRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.CreatePersonResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("CreatePerson"))
              .build();
        }
      }
    }
    return getCreatePersonMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.GetPersonRequest,
      health.tutti.v1.GetPersonResponse> getGetPersonMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetPerson",
      requestType = health.tutti.v1.GetPersonRequest.class,
      responseType = health.tutti.v1.GetPersonResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.GetPersonRequest,
      health.tutti.v1.GetPersonResponse> getGetPersonMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.GetPersonRequest, health.tutti.v1.GetPersonResponse> getGetPersonMethod;
    if ((getGetPersonMethod = PeopleServiceGrpc.getGetPersonMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getGetPersonMethod = PeopleServiceGrpc.getGetPersonMethod) == null) {
          PeopleServiceGrpc.getGetPersonMethod = getGetPersonMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.GetPersonRequest, health.tutti.v1.GetPersonResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetPerson"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetPersonRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetPersonResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("GetPerson"))
              .build();
        }
      }
    }
    return getGetPersonMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.DeletePersonRequest,
      health.tutti.v1.DeletePersonResponse> getDeletePersonMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeletePerson",
      requestType = health.tutti.v1.DeletePersonRequest.class,
      responseType = health.tutti.v1.DeletePersonResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.DeletePersonRequest,
      health.tutti.v1.DeletePersonResponse> getDeletePersonMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.DeletePersonRequest, health.tutti.v1.DeletePersonResponse> getDeletePersonMethod;
    if ((getDeletePersonMethod = PeopleServiceGrpc.getDeletePersonMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getDeletePersonMethod = PeopleServiceGrpc.getDeletePersonMethod) == null) {
          PeopleServiceGrpc.getDeletePersonMethod = getDeletePersonMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.DeletePersonRequest, health.tutti.v1.DeletePersonResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeletePerson"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.DeletePersonRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.DeletePersonResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("DeletePerson"))
              .build();
        }
      }
    }
    return getDeletePersonMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.RecordAssessmentRequest,
      health.tutti.v1.RecordAssessmentResponse> getRecordAssessmentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordAssessment",
      requestType = health.tutti.v1.RecordAssessmentRequest.class,
      responseType = health.tutti.v1.RecordAssessmentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.RecordAssessmentRequest,
      health.tutti.v1.RecordAssessmentResponse> getRecordAssessmentMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.RecordAssessmentRequest, health.tutti.v1.RecordAssessmentResponse> getRecordAssessmentMethod;
    if ((getRecordAssessmentMethod = PeopleServiceGrpc.getRecordAssessmentMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getRecordAssessmentMethod = PeopleServiceGrpc.getRecordAssessmentMethod) == null) {
          PeopleServiceGrpc.getRecordAssessmentMethod = getRecordAssessmentMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.RecordAssessmentRequest, health.tutti.v1.RecordAssessmentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordAssessment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecordAssessmentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.RecordAssessmentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("RecordAssessment"))
              .build();
        }
      }
    }
    return getRecordAssessmentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.BatchRecordAssessmentsRequest,
      health.tutti.v1.BatchRecordAssessmentsResponse> getBatchRecordAssessmentsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "BatchRecordAssessments",
      requestType = health.tutti.v1.BatchRecordAssessmentsRequest.class,
      responseType = health.tutti.v1.BatchRecordAssessmentsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.BatchRecordAssessmentsRequest,
      health.tutti.v1.BatchRecordAssessmentsResponse> getBatchRecordAssessmentsMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.BatchRecordAssessmentsRequest, health.tutti.v1.BatchRecordAssessmentsResponse> getBatchRecordAssessmentsMethod;
    if ((getBatchRecordAssessmentsMethod = PeopleServiceGrpc.getBatchRecordAssessmentsMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getBatchRecordAssessmentsMethod = PeopleServiceGrpc.getBatchRecordAssessmentsMethod) == null) {
          PeopleServiceGrpc.getBatchRecordAssessmentsMethod = getBatchRecordAssessmentsMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.BatchRecordAssessmentsRequest, health.tutti.v1.BatchRecordAssessmentsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "BatchRecordAssessments"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.BatchRecordAssessmentsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.BatchRecordAssessmentsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("BatchRecordAssessments"))
              .build();
        }
      }
    }
    return getBatchRecordAssessmentsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.ListAssessmentsRequest,
      health.tutti.v1.ListAssessmentsResponse> getListAssessmentsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAssessments",
      requestType = health.tutti.v1.ListAssessmentsRequest.class,
      responseType = health.tutti.v1.ListAssessmentsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.ListAssessmentsRequest,
      health.tutti.v1.ListAssessmentsResponse> getListAssessmentsMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.ListAssessmentsRequest, health.tutti.v1.ListAssessmentsResponse> getListAssessmentsMethod;
    if ((getListAssessmentsMethod = PeopleServiceGrpc.getListAssessmentsMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getListAssessmentsMethod = PeopleServiceGrpc.getListAssessmentsMethod) == null) {
          PeopleServiceGrpc.getListAssessmentsMethod = getListAssessmentsMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.ListAssessmentsRequest, health.tutti.v1.ListAssessmentsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAssessments"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListAssessmentsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.ListAssessmentsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("ListAssessments"))
              .build();
        }
      }
    }
    return getListAssessmentsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.GetPersonInsightsRequest,
      health.tutti.v1.GetPersonInsightsResponse> getGetPersonInsightsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetPersonInsights",
      requestType = health.tutti.v1.GetPersonInsightsRequest.class,
      responseType = health.tutti.v1.GetPersonInsightsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.GetPersonInsightsRequest,
      health.tutti.v1.GetPersonInsightsResponse> getGetPersonInsightsMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.GetPersonInsightsRequest, health.tutti.v1.GetPersonInsightsResponse> getGetPersonInsightsMethod;
    if ((getGetPersonInsightsMethod = PeopleServiceGrpc.getGetPersonInsightsMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getGetPersonInsightsMethod = PeopleServiceGrpc.getGetPersonInsightsMethod) == null) {
          PeopleServiceGrpc.getGetPersonInsightsMethod = getGetPersonInsightsMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.GetPersonInsightsRequest, health.tutti.v1.GetPersonInsightsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetPersonInsights"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetPersonInsightsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.GetPersonInsightsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("GetPersonInsights"))
              .build();
        }
      }
    }
    return getGetPersonInsightsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<health.tutti.v1.IngestFhirRequest,
      health.tutti.v1.IngestFhirResponse> getIngestFhirMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "IngestFhir",
      requestType = health.tutti.v1.IngestFhirRequest.class,
      responseType = health.tutti.v1.IngestFhirResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<health.tutti.v1.IngestFhirRequest,
      health.tutti.v1.IngestFhirResponse> getIngestFhirMethod() {
    io.grpc.MethodDescriptor<health.tutti.v1.IngestFhirRequest, health.tutti.v1.IngestFhirResponse> getIngestFhirMethod;
    if ((getIngestFhirMethod = PeopleServiceGrpc.getIngestFhirMethod) == null) {
      synchronized (PeopleServiceGrpc.class) {
        if ((getIngestFhirMethod = PeopleServiceGrpc.getIngestFhirMethod) == null) {
          PeopleServiceGrpc.getIngestFhirMethod = getIngestFhirMethod =
              io.grpc.MethodDescriptor.<health.tutti.v1.IngestFhirRequest, health.tutti.v1.IngestFhirResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "IngestFhir"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.IngestFhirRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  health.tutti.v1.IngestFhirResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeopleServiceMethodDescriptorSupplier("IngestFhir"))
              .build();
        }
      }
    }
    return getIngestFhirMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PeopleServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeopleServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeopleServiceStub>() {
        @java.lang.Override
        public PeopleServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeopleServiceStub(channel, callOptions);
        }
      };
    return PeopleServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PeopleServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeopleServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeopleServiceBlockingV2Stub>() {
        @java.lang.Override
        public PeopleServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeopleServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return PeopleServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PeopleServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeopleServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeopleServiceBlockingStub>() {
        @java.lang.Override
        public PeopleServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeopleServiceBlockingStub(channel, callOptions);
        }
      };
    return PeopleServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PeopleServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeopleServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeopleServiceFutureStub>() {
        @java.lang.Override
        public PeopleServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeopleServiceFutureStub(channel, callOptions);
        }
      };
    return PeopleServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Registers a person.
     * </pre>
     */
    default void createPerson(health.tutti.v1.CreatePersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.CreatePersonResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreatePersonMethod(), responseObserver);
    }

    /**
     * <pre>
     * Gets a person.
     * </pre>
     */
    default void getPerson(health.tutti.v1.GetPersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetPersonMethod(), responseObserver);
    }

    /**
     * <pre>
     * Erases a person and all their data: assessments, recommendations, feedback.
     * </pre>
     */
    default void deletePerson(health.tutti.v1.DeletePersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.DeletePersonResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeletePersonMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records one timestamped set of process ratings and outcome measures.
     * </pre>
     */
    default void recordAssessment(health.tutti.v1.RecordAssessmentRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecordAssessmentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordAssessmentMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records many assessments at once, e.g. a backfill from an experience-sampling app.
     * All or nothing: if one is invalid, none is stored.
     * </pre>
     */
    default void batchRecordAssessments(health.tutti.v1.BatchRecordAssessmentsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.BatchRecordAssessmentsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getBatchRecordAssessmentsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists a person's assessments, newest first.
     * </pre>
     */
    default void listAssessments(health.tutti.v1.ListAssessmentsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListAssessmentsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAssessmentsMethod(), responseObserver);
    }

    /**
     * <pre>
     * What the person's data show: which processes drive their outcome, trends,
     * follow-through, whether they are on track.
     * </pre>
     */
    default void getPersonInsights(health.tutti.v1.GetPersonInsightsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonInsightsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetPersonInsightsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Records FHIR R4 data as assessments: a QuestionnaireResponse of Tutti's
     * process questionnaire, outcome Observations (PHQ-9, GAD-7, WHO-5, ...), or
     * a Bundle of them. Resources at one instant form one assessment; sending
     * the same resources again stores nothing twice. Invalid FHIR is
     * INVALID_ARGUMENT with one field violation per problem, its field the
     * element's FHIRPath (e.g. "Bundle.entry[2].resource.valueQuantity.value"),
     * and nothing is stored.
     * </pre>
     */
    default void ingestFhir(health.tutti.v1.IngestFhirRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.IngestFhirResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getIngestFhirMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service PeopleService.
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public static abstract class PeopleServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PeopleServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service PeopleService.
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public static final class PeopleServiceStub
      extends io.grpc.stub.AbstractAsyncStub<PeopleServiceStub> {
    private PeopleServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeopleServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeopleServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a person.
     * </pre>
     */
    public void createPerson(health.tutti.v1.CreatePersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.CreatePersonResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreatePersonMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Gets a person.
     * </pre>
     */
    public void getPerson(health.tutti.v1.GetPersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetPersonMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Erases a person and all their data: assessments, recommendations, feedback.
     * </pre>
     */
    public void deletePerson(health.tutti.v1.DeletePersonRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.DeletePersonResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeletePersonMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records one timestamped set of process ratings and outcome measures.
     * </pre>
     */
    public void recordAssessment(health.tutti.v1.RecordAssessmentRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.RecordAssessmentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordAssessmentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records many assessments at once, e.g. a backfill from an experience-sampling app.
     * All or nothing: if one is invalid, none is stored.
     * </pre>
     */
    public void batchRecordAssessments(health.tutti.v1.BatchRecordAssessmentsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.BatchRecordAssessmentsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getBatchRecordAssessmentsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists a person's assessments, newest first.
     * </pre>
     */
    public void listAssessments(health.tutti.v1.ListAssessmentsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.ListAssessmentsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAssessmentsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * What the person's data show: which processes drive their outcome, trends,
     * follow-through, whether they are on track.
     * </pre>
     */
    public void getPersonInsights(health.tutti.v1.GetPersonInsightsRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonInsightsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetPersonInsightsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Records FHIR R4 data as assessments: a QuestionnaireResponse of Tutti's
     * process questionnaire, outcome Observations (PHQ-9, GAD-7, WHO-5, ...), or
     * a Bundle of them. Resources at one instant form one assessment; sending
     * the same resources again stores nothing twice. Invalid FHIR is
     * INVALID_ARGUMENT with one field violation per problem, its field the
     * element's FHIRPath (e.g. "Bundle.entry[2].resource.valueQuantity.value"),
     * and nothing is stored.
     * </pre>
     */
    public void ingestFhir(health.tutti.v1.IngestFhirRequest request,
        io.grpc.stub.StreamObserver<health.tutti.v1.IngestFhirResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getIngestFhirMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service PeopleService.
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public static final class PeopleServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PeopleServiceBlockingV2Stub> {
    private PeopleServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeopleServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeopleServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a person.
     * </pre>
     */
    public health.tutti.v1.CreatePersonResponse createPerson(health.tutti.v1.CreatePersonRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreatePersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets a person.
     * </pre>
     */
    public health.tutti.v1.GetPersonResponse getPerson(health.tutti.v1.GetPersonRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetPersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Erases a person and all their data: assessments, recommendations, feedback.
     * </pre>
     */
    public health.tutti.v1.DeletePersonResponse deletePerson(health.tutti.v1.DeletePersonRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeletePersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records one timestamped set of process ratings and outcome measures.
     * </pre>
     */
    public health.tutti.v1.RecordAssessmentResponse recordAssessment(health.tutti.v1.RecordAssessmentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRecordAssessmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records many assessments at once, e.g. a backfill from an experience-sampling app.
     * All or nothing: if one is invalid, none is stored.
     * </pre>
     */
    public health.tutti.v1.BatchRecordAssessmentsResponse batchRecordAssessments(health.tutti.v1.BatchRecordAssessmentsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getBatchRecordAssessmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists a person's assessments, newest first.
     * </pre>
     */
    public health.tutti.v1.ListAssessmentsResponse listAssessments(health.tutti.v1.ListAssessmentsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListAssessmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * What the person's data show: which processes drive their outcome, trends,
     * follow-through, whether they are on track.
     * </pre>
     */
    public health.tutti.v1.GetPersonInsightsResponse getPersonInsights(health.tutti.v1.GetPersonInsightsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetPersonInsightsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records FHIR R4 data as assessments: a QuestionnaireResponse of Tutti's
     * process questionnaire, outcome Observations (PHQ-9, GAD-7, WHO-5, ...), or
     * a Bundle of them. Resources at one instant form one assessment; sending
     * the same resources again stores nothing twice. Invalid FHIR is
     * INVALID_ARGUMENT with one field violation per problem, its field the
     * element's FHIRPath (e.g. "Bundle.entry[2].resource.valueQuantity.value"),
     * and nothing is stored.
     * </pre>
     */
    public health.tutti.v1.IngestFhirResponse ingestFhir(health.tutti.v1.IngestFhirRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getIngestFhirMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service PeopleService.
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public static final class PeopleServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PeopleServiceBlockingStub> {
    private PeopleServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeopleServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeopleServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a person.
     * </pre>
     */
    public health.tutti.v1.CreatePersonResponse createPerson(health.tutti.v1.CreatePersonRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreatePersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets a person.
     * </pre>
     */
    public health.tutti.v1.GetPersonResponse getPerson(health.tutti.v1.GetPersonRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetPersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Erases a person and all their data: assessments, recommendations, feedback.
     * </pre>
     */
    public health.tutti.v1.DeletePersonResponse deletePerson(health.tutti.v1.DeletePersonRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeletePersonMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records one timestamped set of process ratings and outcome measures.
     * </pre>
     */
    public health.tutti.v1.RecordAssessmentResponse recordAssessment(health.tutti.v1.RecordAssessmentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordAssessmentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records many assessments at once, e.g. a backfill from an experience-sampling app.
     * All or nothing: if one is invalid, none is stored.
     * </pre>
     */
    public health.tutti.v1.BatchRecordAssessmentsResponse batchRecordAssessments(health.tutti.v1.BatchRecordAssessmentsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getBatchRecordAssessmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists a person's assessments, newest first.
     * </pre>
     */
    public health.tutti.v1.ListAssessmentsResponse listAssessments(health.tutti.v1.ListAssessmentsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAssessmentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * What the person's data show: which processes drive their outcome, trends,
     * follow-through, whether they are on track.
     * </pre>
     */
    public health.tutti.v1.GetPersonInsightsResponse getPersonInsights(health.tutti.v1.GetPersonInsightsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetPersonInsightsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Records FHIR R4 data as assessments: a QuestionnaireResponse of Tutti's
     * process questionnaire, outcome Observations (PHQ-9, GAD-7, WHO-5, ...), or
     * a Bundle of them. Resources at one instant form one assessment; sending
     * the same resources again stores nothing twice. Invalid FHIR is
     * INVALID_ARGUMENT with one field violation per problem, its field the
     * element's FHIRPath (e.g. "Bundle.entry[2].resource.valueQuantity.value"),
     * and nothing is stored.
     * </pre>
     */
    public health.tutti.v1.IngestFhirResponse ingestFhir(health.tutti.v1.IngestFhirRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getIngestFhirMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service PeopleService.
   * <pre>
   * People in therapy, their repeated process ratings and what their data show.
   * People are known by pseudonymous ids only: never send a name, e-mail or
   * record number as an id.
   * </pre>
   */
  public static final class PeopleServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<PeopleServiceFutureStub> {
    private PeopleServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeopleServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeopleServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers a person.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.CreatePersonResponse> createPerson(
        health.tutti.v1.CreatePersonRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreatePersonMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Gets a person.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.GetPersonResponse> getPerson(
        health.tutti.v1.GetPersonRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetPersonMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Erases a person and all their data: assessments, recommendations, feedback.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.DeletePersonResponse> deletePerson(
        health.tutti.v1.DeletePersonRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeletePersonMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records one timestamped set of process ratings and outcome measures.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.RecordAssessmentResponse> recordAssessment(
        health.tutti.v1.RecordAssessmentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordAssessmentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records many assessments at once, e.g. a backfill from an experience-sampling app.
     * All or nothing: if one is invalid, none is stored.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.BatchRecordAssessmentsResponse> batchRecordAssessments(
        health.tutti.v1.BatchRecordAssessmentsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getBatchRecordAssessmentsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists a person's assessments, newest first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.ListAssessmentsResponse> listAssessments(
        health.tutti.v1.ListAssessmentsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAssessmentsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * What the person's data show: which processes drive their outcome, trends,
     * follow-through, whether they are on track.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.GetPersonInsightsResponse> getPersonInsights(
        health.tutti.v1.GetPersonInsightsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetPersonInsightsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Records FHIR R4 data as assessments: a QuestionnaireResponse of Tutti's
     * process questionnaire, outcome Observations (PHQ-9, GAD-7, WHO-5, ...), or
     * a Bundle of them. Resources at one instant form one assessment; sending
     * the same resources again stores nothing twice. Invalid FHIR is
     * INVALID_ARGUMENT with one field violation per problem, its field the
     * element's FHIRPath (e.g. "Bundle.entry[2].resource.valueQuantity.value"),
     * and nothing is stored.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<health.tutti.v1.IngestFhirResponse> ingestFhir(
        health.tutti.v1.IngestFhirRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getIngestFhirMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_PERSON = 0;
  private static final int METHODID_GET_PERSON = 1;
  private static final int METHODID_DELETE_PERSON = 2;
  private static final int METHODID_RECORD_ASSESSMENT = 3;
  private static final int METHODID_BATCH_RECORD_ASSESSMENTS = 4;
  private static final int METHODID_LIST_ASSESSMENTS = 5;
  private static final int METHODID_GET_PERSON_INSIGHTS = 6;
  private static final int METHODID_INGEST_FHIR = 7;

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
        case METHODID_CREATE_PERSON:
          serviceImpl.createPerson((health.tutti.v1.CreatePersonRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.CreatePersonResponse>) responseObserver);
          break;
        case METHODID_GET_PERSON:
          serviceImpl.getPerson((health.tutti.v1.GetPersonRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonResponse>) responseObserver);
          break;
        case METHODID_DELETE_PERSON:
          serviceImpl.deletePerson((health.tutti.v1.DeletePersonRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.DeletePersonResponse>) responseObserver);
          break;
        case METHODID_RECORD_ASSESSMENT:
          serviceImpl.recordAssessment((health.tutti.v1.RecordAssessmentRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.RecordAssessmentResponse>) responseObserver);
          break;
        case METHODID_BATCH_RECORD_ASSESSMENTS:
          serviceImpl.batchRecordAssessments((health.tutti.v1.BatchRecordAssessmentsRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.BatchRecordAssessmentsResponse>) responseObserver);
          break;
        case METHODID_LIST_ASSESSMENTS:
          serviceImpl.listAssessments((health.tutti.v1.ListAssessmentsRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.ListAssessmentsResponse>) responseObserver);
          break;
        case METHODID_GET_PERSON_INSIGHTS:
          serviceImpl.getPersonInsights((health.tutti.v1.GetPersonInsightsRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.GetPersonInsightsResponse>) responseObserver);
          break;
        case METHODID_INGEST_FHIR:
          serviceImpl.ingestFhir((health.tutti.v1.IngestFhirRequest) request,
              (io.grpc.stub.StreamObserver<health.tutti.v1.IngestFhirResponse>) responseObserver);
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
          getCreatePersonMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.CreatePersonRequest,
              health.tutti.v1.CreatePersonResponse>(
                service, METHODID_CREATE_PERSON)))
        .addMethod(
          getGetPersonMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.GetPersonRequest,
              health.tutti.v1.GetPersonResponse>(
                service, METHODID_GET_PERSON)))
        .addMethod(
          getDeletePersonMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.DeletePersonRequest,
              health.tutti.v1.DeletePersonResponse>(
                service, METHODID_DELETE_PERSON)))
        .addMethod(
          getRecordAssessmentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.RecordAssessmentRequest,
              health.tutti.v1.RecordAssessmentResponse>(
                service, METHODID_RECORD_ASSESSMENT)))
        .addMethod(
          getBatchRecordAssessmentsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.BatchRecordAssessmentsRequest,
              health.tutti.v1.BatchRecordAssessmentsResponse>(
                service, METHODID_BATCH_RECORD_ASSESSMENTS)))
        .addMethod(
          getListAssessmentsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.ListAssessmentsRequest,
              health.tutti.v1.ListAssessmentsResponse>(
                service, METHODID_LIST_ASSESSMENTS)))
        .addMethod(
          getGetPersonInsightsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.GetPersonInsightsRequest,
              health.tutti.v1.GetPersonInsightsResponse>(
                service, METHODID_GET_PERSON_INSIGHTS)))
        .addMethod(
          getIngestFhirMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              health.tutti.v1.IngestFhirRequest,
              health.tutti.v1.IngestFhirResponse>(
                service, METHODID_INGEST_FHIR)))
        .build();
  }

  private static abstract class PeopleServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PeopleServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return health.tutti.v1.PeopleProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("PeopleService");
    }
  }

  private static final class PeopleServiceFileDescriptorSupplier
      extends PeopleServiceBaseDescriptorSupplier {
    PeopleServiceFileDescriptorSupplier() {}
  }

  private static final class PeopleServiceMethodDescriptorSupplier
      extends PeopleServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PeopleServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (PeopleServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PeopleServiceFileDescriptorSupplier())
              .addMethod(getCreatePersonMethod())
              .addMethod(getGetPersonMethod())
              .addMethod(getDeletePersonMethod())
              .addMethod(getRecordAssessmentMethod())
              .addMethod(getBatchRecordAssessmentsMethod())
              .addMethod(getListAssessmentsMethod())
              .addMethod(getGetPersonInsightsMethod())
              .addMethod(getIngestFhirMethod())
              .build();
        }
      }
    }
    return result;
  }
}
