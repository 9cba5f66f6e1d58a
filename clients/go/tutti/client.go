// Package tutti is a thin helper over the generated tutti.v1 stubs in package
// tuttiv1 (github.com/tutti-health/tutti/clients/go/tutti/v1), which
// scripts/gen-clients.sh regenerates from proto/: it opens one connection for
// the three services and sends the caller's tenant on every call.
//
//	c, err := tutti.New("127.0.0.1:50051",
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		tutti.WithTenant("clinic-a"))
//	if err != nil { ... }
//	defer c.Close()
//	resp, err := c.Recommendations.Recommend(ctx, &tuttiv1.RecommendRequest{
//		RequestId: tutti.NewRequestID(), Person: tutti.PersonName("p-123")})
package tutti

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	tuttiv1 "github.com/tutti-health/tutti/clients/go/tutti/v1"
)

// TenantMetadataKey is the metadata key that selects the tenant; without it
// the server uses the tenant "default".
const TenantMetadataKey = "x-tutti-tenant"

// Client holds the three Tutti services over one connection.
type Client struct {
	Conn            *grpc.ClientConn
	Catalog         tuttiv1.CatalogServiceClient
	People          tuttiv1.PeopleServiceClient
	Recommendations tuttiv1.RecommendationServiceClient
}

// New connects lazily to target ("host:port"), as grpc.NewClient does. Pass
// transport credentials (grpc.WithTransportCredentials) and, for a tenant
// other than "default", WithTenant.
func New(target string, opts ...grpc.DialOption) (*Client, error) {
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{
		Conn:            conn,
		Catalog:         tuttiv1.NewCatalogServiceClient(conn),
		People:          tuttiv1.NewPeopleServiceClient(conn),
		Recommendations: tuttiv1.NewRecommendationServiceClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// WithTenant sends tenant in the x-tutti-tenant metadata of every call, unary
// or streaming, made on the connection.
func WithTenant(tenant string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(tenantMetadata(tenant))
}

// tenantMetadata is per-RPC "credentials" only in gRPC's plumbing sense: it
// attaches the tenant to each call and works over plaintext as well as TLS.
type tenantMetadata string

func (t tenantMetadata) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{TenantMetadataKey: string(t)}, nil
}

func (tenantMetadata) RequireTransportSecurity() bool { return false }

// WithRootCA speaks TLS to the server, trusting only the CA certificates in
// caPEM (PEM), e.g. the one that signed a private deployment's certificate.
func WithRootCA(caPEM []byte) (grpc.DialOption, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("tutti: no PEM certificate in the root CA")
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs:    pool,
		MinVersion: tls.VersionTLS12,
	})), nil
}

// WithBearerToken sends "authorization: Bearer <token>" (an API key or an
// OAuth2 access token) on every call made on the connection.
func WithBearerToken(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearerToken(token))
}

// bearerToken works over plaintext too, so a loopback server without TLS can
// be reached; the server refuses plaintext on any other address.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// NewRequestID returns a fresh idempotency key (32 hex digits) for a write
// call. Reuse the same key when retrying the same write.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// PersonName returns the resource name "people/{personID}" that requests about
// a person take.
func PersonName(personID string) string { return "people/" + personID }
