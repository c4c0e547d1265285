// Package spec checks the fake DocSpace (internal/docspacetest) against
// ONLYOFFICE's own description of the DocSpace API: testdata/docspace-api.yaml
// is the backup and settings part of that OpenAPI description, written by
// gen.go. The package has tests only; it is a module of its own so that the
// OpenAPI validator stays out of the exporter's go.mod.
package spec

//go:generate go run gen.go -repo ONLYOFFICE/docspace-api-sdk-csharp -commit a487737eb70cc90a48592200d7960b2a02fcd9e2 -path api/openapi.yaml -git ${DOCSPACE_API_SDK_CSHARP}
