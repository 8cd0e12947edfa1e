//go:build !race

// The crash test runs in make test's second pass, without -race: under the
// race detector the connector is too slow for its kills to land usefully.

package connect_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/schemas"
)

// freeAddr returns a loopback address nobody listens on, so the broker can
// come back on the same one after a restart.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashBroker is the broker a crash test kills under the connector.
type crashBroker struct {
	addr    string
	restart func(t *testing.T) // kill the broker, then start it again with its log
	// hw says how far the civil-status topic has been written.
	hw func() int64
}

// The connector process is killed with SIGKILL at random moments and
// restarted, and the broker is killed under it once, mid-publish, and
// started again with its log; afterwards no row is missing and no record
// id carries two contents. On the embedded broker, persisted in a data
// directory, and on a real Kafka broker of the test's own (restarting the
// shared one would break the tests running beside this one), killed with
// SIGKILL.
func TestCrashSIGKILLAndBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes for a while; not in -short")
	}
	bin := filepath.Join(t.TempDir(), "passerelle")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/passerelle-bus/passerelle/cmd/passerelle").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	t.Run("embedded", func(t *testing.T) {
		addr, kafkaDir := freeAddr(t), t.TempDir()
		broker, err := bus.StartEmbedded(bus.EmbeddedOptions{Listen: addr, DataDir: kafkaDir})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { broker.Close() }()
		crash(t, bin, bustest.Target{Name: "embedded", Brokers: []string{addr}}, func(client *bus.Client) crashBroker {
			return crashBroker{addr: addr, hw: hwOf(client), restart: func(t *testing.T) {
				broker.Close()
				time.Sleep(time.Second)
				if broker, err = bus.StartEmbedded(bus.EmbeddedOptions{Listen: addr, DataDir: kafkaDir}); err != nil {
					t.Fatal(err)
				}
			}}
		})
	})
	t.Run("kafka", func(t *testing.T) {
		b := bustest.Private(t)
		crash(t, bin, b.Target, func(client *bus.Client) crashBroker {
			return crashBroker{addr: b.Brokers[0], hw: hwOf(client), restart: func(t *testing.T) {
				b.Kill()
				b.Start()
			}}
		})
	})
}

// hwOf reads the civil-status topic's high watermarks, summed.
func hwOf(client *bus.Client) func() int64 {
	return func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var n int64
		for p := range 3 {
			hw, _ := client.HighWatermark(ctx, bus.DomainTopic("civilstatus", "person", 1), p)
			n += hw
		}
		return n
	}
}

func crash(t *testing.T, bin string, tg bustest.Target, broker func(*bus.Client) crashBroker) {
	ctx := context.Background()
	client, err := bus.New(tg.Config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	b := broker(client)

	// Enough rows that six short runs cannot finish the source: a run
	// publishes about 60,000 rows a second, and a kill lands within 450 ms.
	p := synth.Generate(150_000, 11, synth.Options{DefectRate: 0.01})
	files := t.TempDir()
	if err := synth.WriteCivilStatus(files, p); err != nil {
		t.Fatal(err)
	}
	members, specs := specsFor("crash")
	w := trusttest.New(t, specs)
	if err := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo")).Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "connector.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `member: %s
domain: civilstatus
data: %s
kafka:
%ssigning: batch
batch_size: 300
source:
  dir: %s
`, members["civilstatus"], w.Dir, tg.KafkaYAML(2), filepath.Join(files, "civilstatus")), 0o600)

	seed := time.Now().UnixNano()
	t.Logf("kill timings seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "connect", "civilstatus", "--config", cfg, "--until-idle")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	kills, brokerKilled := 0, false
	for round := 0; kills < 6 && round < 20; round++ {
		cmd := start()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if round == 2 {
			// The broker is killed under a running connector once it is
			// publishing, and comes back on the same address with its log.
			before := b.hw()
			deadline := time.Now().Add(30 * time.Second)
			for b.hw() == before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			select {
			case err := <-exited:
				t.Fatalf("the connector finished before the broker's kill (%v): the test proves nothing", err)
			default:
			}
			atKill := b.hw()
			if atKill == before {
				t.Fatal("the connector was not publishing when the broker was killed: the test proves nothing")
			}
			b.restart(t)
			t.Logf("broker killed under the connector after %d records, and started again", atKill)
		}
		select {
		case err := <-exited:
			t.Logf("round %d: the connector finished before its kill (%v)", round, err)
			continue
		case <-time.After(time.Duration(150+rng.IntN(300)) * time.Millisecond):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		kills++
		brokerKilled = brokerKilled || round >= 2
	}
	if kills < 5 || !brokerKilled {
		t.Fatalf("only %d kills landed during a run (the broker's: %v)", kills, brokerKilled)
	}
	final := exec.Command(bin, "connect", "civilstatus", "--config", cfg, "--until-idle")
	if out, err := final.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	t.Logf("%d SIGKILLs of the connector and one of the broker, then a clean run", kills)

	cat, _ := domains.Catalog()
	got := consume(t, client, w.Store(t), schemas.NewCodec(cat), "civilstatus", members["civilstatus"])
	checkDomain(t, got, p.Manifest[synth.DomainCivilStatus], "civilstatus")
}
