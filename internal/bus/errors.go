package bus

import "errors"

var (
	// ErrBrokerUnreachable means no broker of the configured list answered.
	// The caller checks the address and that the broker runs; retrying
	// without a change does not help.
	ErrBrokerUnreachable = errors.New("kafka broker unreachable")

	// ErrNotAuthorized means the broker refused an operation for lack of
	// rights (ACLs). The caller asks the cluster operator for the right named
	// in the error.
	ErrNotAuthorized = errors.New("not authorized by the kafka broker")

	// ErrTopicMissing means a topic the caller relies on does not exist and
	// Passerelle was not asked to create it.
	ErrTopicMissing = errors.New("kafka topic missing")

	// ErrBadConfig means the bus configuration is invalid; the message names
	// the field.
	ErrBadConfig = errors.New("invalid bus configuration")
)
