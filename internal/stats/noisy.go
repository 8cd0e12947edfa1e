package stats

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/internal/stats/noise"
)

// Noisy answers p with discrete Laplace noise instead of suppression:
// each citizen is in one answer cell (the cells split the filtered
// population), so a figure's noise covers every cell at once (parallel
// composition), and ε is split evenly between the figures asked (the
// count, and one sum per measure). Each citizen's contribution to a sum
// is clipped to the rule's bound, which is the sum's sensitivity. Means
// are noisy sums over noisy counts, and negative counts read 0: both are
// post-processing, which costs no privacy. random is crypto/rand's
// reader unless a test gives another.
func Noisy(p *Plan, t *Table, at time.Time, random io.Reader) (Answer, error) {
	if random == nil {
		random = rand.Reader
	}
	a := p.header(t, at)
	bounds := p.Rule.Noise.Bounds
	// The figures the noise covers: the count, then each measure summed.
	figures := []int{-1}
	for _, m := range p.Measures {
		if m.Measure >= 0 && !slices.Contains(figures, m.Measure) {
			figures = append(figures, m.Measure)
		}
	}
	epsEach := p.EpsMicro / uint64(len(figures))
	if epsEach == 0 {
		return Answer{}, refuse(CodeNoiseInvalid, "epsilon too small for %d figures", len(figures))
	}
	used := &NoiseUsed{Mechanism: MechanismLaplace, Epsilon: float64(p.EpsMicro) / 1e6, Scales: map[string]float64{}, Bounds: map[string]int64{}}
	samplers := map[int]*noise.Laplace{}
	for _, f := range figures {
		sens, name := uint64(1), "count"
		if f >= 0 {
			name = "sum(" + t.Measures[f].Name + ")"
			sens = uint64(bounds[t.Measures[f].Name])
			used.Bounds[t.Measures[f].Name] = bounds[t.Measures[f].Name]
		}
		num, den := noise.ScaleFor(sens, epsEach)
		l, err := noise.NewLaplace(num, den)
		if err != nil {
			return Answer{}, fmt.Errorf("stats: noise for %s: %w", name, err)
		}
		samplers[f] = l
		used.Scales[name] = float64(num) / float64(den)
	}
	a.Disclosure.Noise = used

	shape := answerShape(p, t)
	cells := 1
	for _, s := range shape {
		cells *= len(s)
	}
	counts := make([]int64, cells)
	sums := make([][]int64, len(t.Measures))
	for _, f := range figures[1:] {
		sums[f] = make([]int64, cells)
	}
	for row := range t.rows() {
		k, ok := answerCell(p, t, shape, row)
		if !ok {
			continue
		}
		counts[k]++
		for _, f := range figures[1:] {
			sums[f][k] += min(max(t.vals[f][row], 0), bounds[t.Measures[f].Name])
		}
	}
	k := 0
	var err error
	each(shape, func(pick []int) {
		if err != nil {
			return
		}
		c := Cell{Group: labels(p, t, pick), Values: make([]*float64, len(p.Measures))}
		var e error
		count, noisySums := 0.0, make([]float64, len(t.Measures))
		for _, f := range figures {
			raw := counts[k]
			if f >= 0 {
				raw = sums[f][k]
			}
			var z int64
			if z, e = samplers[f].Sample(random); e != nil {
				err = fmt.Errorf("stats: sampling noise: %w", e)
				return
			}
			if f < 0 {
				count = max(float64(raw+z), 0)
			} else {
				noisySums[f] = float64(raw + z)
			}
		}
		c.Count = &count
		for mi, m := range p.Measures {
			c.Values[mi] = linearValue(m, t, count, noisySums)
		}
		a.Disclosure.Counts.Released++
		a.Cells = append(a.Cells, c)
		k++
	})
	return a, err
}
