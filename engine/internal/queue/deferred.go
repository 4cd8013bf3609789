package queue

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A deferred render is an event stored in the work stream, on the
// subject of the one pair it is for, instead of that pair's postbacks: an
// app's render worker defers the events of a partner whose templates are
// slow (or whose render failed), and the pair's delivery worker renders
// them, one at a time and at most 1/renderShare of a CPU, then queues the
// postbacks. Its message is the event's, with hdrRenderSeq naming the
// event's sequence in the event stream; a binary from before deferred
// renders dead-letters it as an undecodable job.

// hdrRenderSeq marks a deferred render and holds its event's sequence.
const hdrRenderSeq = "Adgate-Render-Seq"

// A handed-over render is a deferred render for a partner the app's
// render worker does not have, of an event whose config does (see
// leaveToOthers): it is stored on the pair's hand-over subject,
// <prefix>.pb.<app>.<partner>.r, whose worker only an instance that
// renders the pair starts (every instance runs the workers of the pairs'
// own subjects, whatever its config).

// deferredRender is one event to render for one pair; owner is its
// index among the batch's events. handover stores it on the pair's
// hand-over subject.
type deferredRender struct {
	k        Key
	ev       Event
	owner    int
	handover bool
}

// deferRender stores deferred renders in the work stream. On error every
// one may be unsaved (unsaved[i] is then true for all).
func (q *Queue) deferRender(ctx context.Context, ds []deferredRender) (unsaved []bool, err error) {
	msgs := make([]workMsg, len(ds))
	for i, d := range ds {
		h := nats.Header{}
		h.Set(hdrEventID, d.ev.ID)
		h.Set(hdrReceived, strconv.FormatInt(d.ev.Received.UnixNano(), 10))
		if d.ev.ConfigVersion != "" {
			h.Set(hdrConfig, d.ev.ConfigVersion)
		}
		seq := strconv.FormatUint(d.ev.Seq, 10)
		h.Set(hdrRenderSeq, seq)
		// Stable for the same stored event rendered again after a crash.
		subj := q.workSubject(d.k.App, d.k.Partner)
		if d.handover {
			subj = q.handoverSubject(d.k.App, d.k.Partner)
		}
		msgs[i] = workMsg{
			msg: &nats.Msg{Subject: subj, Data: d.ev.Raw, Header: h},
			id:  "render." + seq + "." + escapeToken(d.k.Partner), what: "deferred render of event " + d.ev.ID,
			// Handed over: the pair's partner is not this instance's.
			others: d.handover,
		}
	}
	// Not ctx alone: past the drain deadline it is cancelled, and the
	// batch's delivered postbacks would be sent again on the next start.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := q.storeWork(sctx, msgs); err != nil {
		unsaved = make([]bool, len(ds))
		for i := range unsaved {
			unsaved[i] = true
		}
		return unsaved, err
	}
	return nil, nil
}

// handleRender renders a deferred render (msg) for key and queues its
// postbacks; it settles msg. It runs in a slot of the pair's delivery
// worker, one at a time per pair, and pauses after a slow render so the
// pair takes at most 1/renderShare of a CPU.
func (q *Queue) handleRender(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, key Key, h Handler, live *liveSet) {
	drop := func(reason string) {
		q.log.Error("queue: dropping a deferred render", "app", key.App, "partner", key.Partner, "event_id", msg.Headers().Get(hdrEventID), "err", reason)
		q.reportLoss(Loss{Stream: q.cfg.Stream, Reason: "unrenderable", Msgs: 1, Seqs: []uint64{md.Sequence.Stream}, Bytes: uint64(len(msg.Data())), Detail: reason})
		live.remove(msg)
		_ = msg.Term()
	}
	r, ok := h.(Renderer)
	if !ok {
		drop("the handler does not render")
		return
	}
	seq, err := strconv.ParseUint(msg.Headers().Get(hdrRenderSeq), 10, 64)
	if err != nil {
		drop("bad " + hdrRenderSeq + " header")
		return
	}
	ev, err := eventOf(key.App, msg.Headers(), msg.Data(), seq)
	if err != nil {
		drop(err.Error())
		return
	}
	if int(md.NumDelivered) > q.cfg.MaxDeliver {
		drop(fmt.Sprintf("delivered %d times without being rendered (max %d)", md.NumDelivered-1, q.cfg.MaxDeliver))
		return
	}
	slots := q.pairSlots(key)
	slots.renderMu.Lock()
	runtime.LockOSThread() // for threadCPU
	cpu0 := threadCPU()
	jobs, err := q.render(ctx, r, key, ev)
	spent := threadCPU() - cpu0
	runtime.UnlockOSThread()
	if spent > slowRender/renderShare {
		sleepCtx(ctx, time.Duration(renderShare-1)*spent)
	}
	slots.renderMu.Unlock()
	if err == nil {
		for i := range jobs {
			jobs[i].EventSeq = ev.Seq
		}
		err = q.Enqueue(ctx, jobs...)
	}
	live.remove(msg)
	if err != nil {
		q.log.Warn("queue: deferred render failed; trying again", "app", key.App, "partner", key.Partner, "event_id", ev.ID, "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	_ = msg.Ack()
}
