package grpctopo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"vitess.io/vitess/go/vt/topo"

	globalv1 "topo/go/gen/topo/global/v1"
)

// resignTimeout bounds the ReleaseLock a Stop makes to hand leadership over.
const resignTimeout = 10 * time.Second

// NewLeaderParticipation is part of the topo.Conn interface: a campaign in global-topo's
// election of that name (inside the served directory, when this Conn serves one).
func (s *Server) NewLeaderParticipation(name, id string) (topo.LeaderParticipation, error) {
	if s.global == nil {
		return nil, s.noGlobal("election " + name)
	}
	election := name
	if s.dir != "" {
		election = s.dir + "/" + name
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &leaderParticipation{s: s, election: election, id: id, ctx: ctx, stop: cancel, done: make(chan struct{})}, nil
}

type leaderParticipation struct {
	s        *Server
	election string
	id       string

	// ctx ends when Stop is called; every campaign stream derives from it.
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	elected *globalv1.Elected
	running bool
	// done is closed when the campaign WaitForLeadership started has ended.
	done chan struct{}
}

// WaitForLeadership is part of the topo.LeaderParticipation interface. The returned
// context ends when leadership is lost or Stop is called.
func (mp *leaderParticipation) WaitForLeadership() (context.Context, error) {
	mp.mu.Lock()
	if mp.ctx.Err() != nil {
		mp.mu.Unlock()
		return nil, topo.NewError(topo.Interrupted, mp.election)
	}
	if mp.running {
		mp.mu.Unlock()
		return nil, fmt.Errorf("grpctopo: WaitForLeadership called twice on election %v", mp.election)
	}
	mp.running = true
	mp.mu.Unlock()

	streamCtx, cancelStream := context.WithCancel(mp.ctx)
	stream, err := mp.s.global.Campaign(streamCtx, &globalv1.CampaignRequest{Election: mp.election, Id: mp.id})
	if err != nil {
		cancelStream()
		close(mp.done)
		return nil, mp.campaignError(err)
	}
	msg, err := stream.Recv()
	if err != nil || msg.GetElected() == nil {
		cancelStream()
		close(mp.done)
		if err == nil {
			err = fmt.Errorf("grpctopo: election %v: expected elected, got %v", mp.election, msg)
		}
		return nil, mp.campaignError(err)
	}
	mp.mu.Lock()
	mp.elected = msg.GetElected()
	mp.mu.Unlock()
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	go func() {
		defer close(mp.done)
		defer cancelLeader()
		defer cancelStream()
		// The next message is `lost`, or the stream ends (Stop, or the service went):
		// either way leadership is over.
		_, _ = stream.Recv()
	}()
	return leaderCtx, nil
}

func (mp *leaderParticipation) campaignError(err error) error {
	if mp.ctx.Err() != nil {
		return topo.NewError(topo.Interrupted, mp.election)
	}
	return convertError(err, mp.election)
}

// Stop is part of the topo.LeaderParticipation interface. A leader resigns through
// ReleaseLock, which answers once the next participant can be elected; Stop returns
// after that and after the campaign has ended.
func (mp *leaderParticipation) Stop() {
	mp.mu.Lock()
	elected := mp.elected
	running := mp.running
	mp.mu.Unlock()
	if elected != nil {
		ctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
		// A leadership already lost has nothing left to release: its error changes nothing.
		_, _ = mp.s.global.ReleaseLock(ctx, &globalv1.ReleaseLockRequest{LockId: elected.GetLockId(), FencingToken: elected.GetFencingToken()})
		cancel()
	}
	mp.stop()
	if running {
		<-mp.done
	}
}

// GetCurrentLeaderID is part of the topo.LeaderParticipation interface.
func (mp *leaderParticipation) GetCurrentLeaderID(ctx context.Context) (string, error) {
	res, err := mp.s.global.GetLeader(ctx, &globalv1.GetLeaderRequest{Election: mp.election})
	if err != nil {
		return "", convertError(err, mp.election)
	}
	return res.GetLeaderId(), nil
}

// WaitForNewLeader is part of the topo.LeaderParticipation interface: the current
// leader, then every change of leader, until ctx ends.
func (mp *leaderParticipation) WaitForNewLeader(ctx context.Context) (<-chan string, error) {
	stream, err := mp.s.global.WatchLeader(ctx, &globalv1.WatchLeaderRequest{Election: mp.election})
	if err != nil {
		return nil, convertError(err, mp.election)
	}
	leaders := make(chan string, 8)
	go func() {
		defer close(leaders)
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case leaders <- msg.GetLeaderId():
			case <-ctx.Done():
				return
			}
		}
	}()
	return leaders, nil
}
