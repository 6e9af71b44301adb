// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title DrawRegistry
/// @notice The on-chain record of Notary Hub public draws (docs/draw-algorithm.md,
///         `notary-hub-draw/1`): each draw is committed before its randomness exists,
///         then its result is published once. Every out-of-order step reverts, so a
///         draw can be neither re-committed nor re-drawn.
/// @dev The owner is the notary's node account (set at deployment, never changed). It
///      registers drand beacon networks (chain hash -> genesis, period) so the contract
///      knows when each round is published (§3.1: genesis + (round - 1) * period).
///      A commit names a round published at least MIN_COMMIT_LEAD seconds after its
///      block; a result names a round of the committed window [round, round +
///      fallbackMaxRounds] whose time has come, and reveals the notary's secret, checked
///      against the committed sha256("notary-hub-draw/1 reveal" || secret) (§3.2). The
///      beacon's BLS signature and the seed are checked off chain by every verifier
///      (the randomness and the secret are here for them).
contract DrawRegistry {
    /// @notice §3.1: a round is committed at least this many seconds before it is published.
    uint256 public constant MIN_COMMIT_LEAD = 60;
    /// @notice §1: the next-round fallback's maxRounds is at most 10 (0 means "wait").
    uint8 public constant MAX_FALLBACK_ROUNDS = 10;

    enum State {
        None,
        Committed,
        Published
    }

    struct Network {
        uint64 genesis;
        uint64 period; // 0: not registered
    }

    struct Draw {
        bytes32 configHash;
        bytes32 candidateRoot;
        bytes32 sourcesHash;
        bytes32 beaconChainHash;
        bytes32 notaryCommitment;
        uint64 count;
        uint64 round;
        uint8 fallbackMaxRounds;
        State state;
        uint64 committedAt; // block timestamp of the commit
        uint64 committedBlock;
        uint64 usedRound;
        uint64 winners;
        uint64 publishedAt; // block timestamp of the result
        uint64 publishedBlock;
        bytes32 beaconRandomness;
        bytes32 notarySecret;
        bytes32 seed;
        bytes32 resultRoot;
    }

    /// @notice The notary's account: the only one that registers networks, commits and
    ///         publishes.
    address public owner;

    mapping(bytes32 => Network) private _networks;
    mapping(bytes32 => Draw) private _draws;

    event BeaconNetworkRegistered(bytes32 indexed chainHash, uint64 genesis, uint64 period);

    event DrawCommitted(
        bytes32 indexed drawKey,
        bytes32 configHash,
        bytes32 candidateRoot,
        uint64 count,
        bytes32 sourcesHash,
        bytes32 indexed beaconChainHash,
        uint64 round,
        bytes32 notaryCommitment,
        uint8 fallbackMaxRounds
    );

    event DrawResultPublished(
        bytes32 indexed drawKey,
        uint64 usedRound,
        bytes32 beaconRandomness,
        bytes32 notarySecret,
        bytes32 seed,
        bytes32 resultRoot,
        uint64 winners
    );

    /// @param owner_ The notary's account.
    constructor(address owner_) {
        require(owner_ != address(0), "zero_address");
        owner = owner_;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "not_owner");
        _;
    }

    /// @dev Draw `drawKey` is in state `expected`: a commit needs None (`draw_exists`), a
    ///      result needs Committed (`not_committed`, then `already_published`).
    modifier inState(bytes32 drawKey, State expected) {
        State actual = _draws[drawKey].state;
        if (expected == State.None) {
            require(actual == State.None, "draw_exists");
        } else {
            require(actual != State.None, "not_committed");
            require(actual == expected, "already_published");
        }
        _;
    }

    /// @dev `round` of a registered network `chainHash` (`unknown_network`, `zero_round`):
    ///      roundTime's precondition, and so a commit's (it asks roundTime).
    modifier knownRound(bytes32 chainHash, uint64 round) {
        require(_networks[chainHash].period != 0, "unknown_network");
        require(round != 0, "zero_round");
        _;
    }

    /// @notice Register the drand network `chainHash` (its round 1 at `genesis`, a round
    ///         every `period` seconds).
    /// @dev Re-registering the same values is harmless; other values revert
    ///      `network_exists` (they would move the rounds of committed draws).
    function registerBeaconNetwork(bytes32 chainHash, uint64 genesis, uint64 period)
        external
        onlyOwner
    {
        require(chainHash != bytes32(0), "zero_chain_hash");
        require(period != 0, "zero_period");
        Network storage n = _networks[chainHash];
        if (n.period != 0) {
            require(n.genesis == genesis && n.period == period, "network_exists");
            return;
        }
        n.genesis = genesis;
        n.period = period;
        emit BeaconNetworkRegistered(chainHash, genesis, period);
    }

    /// @notice Commit draw `drawKey` before its randomness exists.
    /// @dev Reverts `not_owner`, `draw_exists`, `zero_draw_key`, `zero_hash`, `zero_count`,
    ///      `fallback_too_long`, `unknown_network`, `zero_round`, `round_too_soon`.
    function commit(
        bytes32 drawKey,
        bytes32 configHash,
        bytes32 candidateRoot,
        uint64 count,
        bytes32 sourcesHash,
        bytes32 beaconChainHash,
        uint64 round,
        bytes32 notaryCommitment,
        uint8 fallbackMaxRounds
    ) external onlyOwner inState(drawKey, State.None) {
        require(drawKey != bytes32(0), "zero_draw_key");
        Draw storage d = _draws[drawKey];
        require(
            configHash != bytes32(0) && candidateRoot != bytes32(0)
                && notaryCommitment != bytes32(0),
            "zero_hash"
        );
        require(count != 0, "zero_count");
        require(fallbackMaxRounds <= MAX_FALLBACK_ROUNDS, "fallback_too_long");
        // roundTime's knownRound refuses an unknown network and round 0.
        require(
            roundTime(beaconChainHash, round) >= block.timestamp + MIN_COMMIT_LEAD,
            "round_too_soon"
        );
        d.configHash = configHash;
        d.candidateRoot = candidateRoot;
        d.sourcesHash = sourcesHash;
        d.beaconChainHash = beaconChainHash;
        d.notaryCommitment = notaryCommitment;
        d.count = count;
        d.round = round;
        d.fallbackMaxRounds = fallbackMaxRounds;
        d.state = State.Committed;
        d.committedAt = uint64(block.timestamp);
        d.committedBlock = uint64(block.number);
        emit DrawCommitted(
            drawKey,
            configHash,
            candidateRoot,
            count,
            sourcesHash,
            beaconChainHash,
            round,
            notaryCommitment,
            fallbackMaxRounds
        );
    }

    /// @notice Publish the result of committed draw `drawKey`, once.
    /// @dev Reverts `not_owner`, `not_committed`, `already_published`,
    ///      `round_outside_window`, `round_not_published`, `bad_reveal`, `zero_hash`.
    function publishResult(
        bytes32 drawKey,
        uint64 usedRound,
        bytes32 beaconRandomness,
        bytes32 notarySecret,
        bytes32 seed,
        bytes32 resultRoot,
        uint64 winners
    ) external onlyOwner inState(drawKey, State.Committed) {
        Draw storage d = _draws[drawKey];
        require(
            usedRound >= d.round
                && uint256(usedRound) <= uint256(d.round) + d.fallbackMaxRounds,
            "round_outside_window"
        );
        require(block.timestamp >= roundTime(d.beaconChainHash, usedRound), "round_not_published");
        require(
            sha256(abi.encodePacked("notary-hub-draw/1 reveal", notarySecret))
                == d.notaryCommitment,
            "bad_reveal"
        );
        require(seed != bytes32(0) && resultRoot != bytes32(0), "zero_hash");
        d.state = State.Published;
        d.usedRound = usedRound;
        d.beaconRandomness = beaconRandomness;
        d.notarySecret = notarySecret;
        d.seed = seed;
        d.resultRoot = resultRoot;
        d.winners = winners;
        d.publishedAt = uint64(block.timestamp);
        d.publishedBlock = uint64(block.number);
        emit DrawResultPublished(
            drawKey, usedRound, beaconRandomness, notarySecret, seed, resultRoot, winners
        );
    }

    /// @notice When round `round` of network `chainHash` is published (unix seconds).
    /// @dev Reverts `unknown_network` for an unregistered network, `zero_round` for 0.
    function roundTime(bytes32 chainHash, uint64 round)
        public
        view
        knownRound(chainHash, round)
        returns (uint256)
    {
        Network storage n = _networks[chainHash];
        return uint256(n.genesis) + (uint256(round) - 1) * uint256(n.period);
    }

    /// @notice The registered network `chainHash`; period 0 when it is not registered.
    function network(bytes32 chainHash) external view returns (uint64 genesis, uint64 period) {
        Network storage n = _networks[chainHash];
        return (n.genesis, n.period);
    }

    /// @notice The record of draw `drawKey`; state None (all zeros) if never committed.
    function record(bytes32 drawKey) external view returns (Draw memory) {
        return _draws[drawKey];
    }
}
