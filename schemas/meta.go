package schemas

import "time"

// Each domain's folder (internal/domains/<name>) holds its record type;
// what every record shares is here.

// Op values of Meta.Op.
const (
	OpUpsert  = "UPSERT"
	OpDelete  = "DELETE"
	OpUnknown = "UNKNOWN"
)

// Meta is the envelope every record carries.
type Meta struct {
	RecordID  string    `avro:"record_id"`
	Subject   string    `avro:"subject"`
	Source    string    `avro:"source"`
	EventTime time.Time `avro:"event_time"`
	Op        string    `avro:"op"`
}
