// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import {IServiceNodeRegistry} from "./IServiceNodeRegistry.sol";

/// @title ConsortiumRegistry
/// @notice Membership of the notary consortium and the nodes its members run,
///         governed by member votes.
/// @dev Every change goes through a proposal (`propose...`) that members vote on
///      with {vote}. A proposal executes inside the vote that brings its yes votes
///      to the threshold, and is rejected inside the vote after which it can no
///      longer pass. Both are evaluated against the member count at that moment:
///
///        passes   when  yes * 10000            >= thresholdBps * memberCount
///        rejected when  (memberCount - no) * 10000 < thresholdBps * memberCount
///
///      The threshold (basis points, 1..10000) is set at deployment and can only be
///      changed afterwards by a passed `SetThreshold` proposal. Note the rounding:
///      with 3 members, 6666 bps needs 2 yes votes but 6667 bps needs all 3.
///      Proposing does not vote: the proposer votes like everyone else.
///      Preconditions are checked when proposing and again when executing; a vote
///      that would execute a proposal that has gone stale (e.g. the member was
///      admitted by another proposal meanwhile) reverts, and members may still
///      vote it down.
contract ConsortiumRegistry is IServiceNodeRegistry {
    enum NodeType {
        None, // 0: not a node
        Producer, // 1: produces evidence, cannot anchor
        Service // 2: runs the hub services, may anchor
    }

    enum ProposalKind {
        AddMember, // 0
        RemoveMember, // 1
        AddNode, // 2
        RemoveNode, // 3
        SetThreshold // 4
    }

    struct Member {
        address account;
        bytes32 role;
        uint64 joinedAt; // block timestamp of admission
        string name;
    }

    struct Node {
        address node;
        address owner; // the member that runs it
        NodeType nodeType;
        uint64 addedAt; // block timestamp of admission
    }

    struct Proposal {
        uint256 id;
        ProposalKind kind;
        address target; // member (Add/RemoveMember) or node (Add/RemoveNode); zero for SetThreshold
        string name; // AddMember
        bytes32 role; // AddMember
        NodeType nodeType; // AddNode
        address nodeOwner; // AddNode
        uint16 thresholdBps; // SetThreshold
        bytes32 evidenceHash; // hash of the off-chain checked application (e.g. CA chain)
        address proposer;
        uint32 yesVotes;
        uint32 noVotes;
        uint64 createdBlock;
        bool executed;
        bool rejected;
    }

    uint16 public constant BPS = 10000;

    /// @notice Share of the members (basis points) whose yes votes pass a proposal.
    uint16 public thresholdBps;

    mapping(address => Member) private _members;
    address[] private _memberList;
    mapping(address => uint256) private _memberIndex; // position in _memberList + 1

    mapping(address => Node) private _nodes;
    address[] private _nodeList;
    mapping(address => uint256) private _nodeIndex; // position in _nodeList + 1
    mapping(address => address[]) private _memberNodes;
    mapping(address => uint256) private _memberNodeIndex; // position in _memberNodes[owner] + 1

    Proposal[] private _proposals; // id = index + 1
    mapping(uint256 => mapping(address => bool)) private _voted;

    event ProposalCreated(
        uint256 indexed id,
        ProposalKind indexed kind,
        address indexed target,
        address proposer,
        bytes32 evidenceHash
    );
    event VoteCast(
        uint256 indexed id, address indexed voter, bool support, uint32 yesVotes, uint32 noVotes
    );
    event ProposalExecuted(uint256 indexed id);
    event ProposalRejected(uint256 indexed id);
    event MemberAdded(address indexed member, string name, bytes32 role);
    event MemberRemoved(address indexed member);
    event NodeAdded(address indexed node, address indexed owner, NodeType nodeType);
    event NodeRemoved(address indexed node, address indexed owner);
    event ThresholdChanged(uint16 previousBps, uint16 newBps);

    modifier onlyMember() {
        require(_memberIndex[msg.sender] != 0, "not_member");
        _;
    }

    /// @param founder The founding member's organisation address.
    /// @param founderName The founding member's name.
    /// @param founderRole The founding member's role (short label, e.g. "notary").
    /// @param founderServiceNode The founding member's first Service node.
    /// @param thresholdBps_ Passing threshold in basis points (5001 = simple majority).
    constructor(
        address founder,
        string memory founderName,
        bytes32 founderRole,
        address founderServiceNode,
        uint16 thresholdBps_
    ) {
        require(founder != address(0) && founderServiceNode != address(0), "zero_address");
        _requireThreshold(thresholdBps_);
        thresholdBps = thresholdBps_;
        emit ThresholdChanged(0, thresholdBps_);
        _addMember(founder, founderName, founderRole);
        _addNode(founderServiceNode, founder, NodeType.Service);
    }

    // ------------------------------------------------------------ proposals

    /// @notice Propose admitting `member` as `name` with `role`.
    function proposeAddMember(
        address member,
        string calldata name,
        bytes32 role,
        bytes32 evidenceHash
    ) external onlyMember returns (uint256 id) {
        _checkAddMember(member);
        Proposal storage p = _newProposal(ProposalKind.AddMember, member, evidenceHash);
        p.name = name;
        p.role = role;
        id = p.id;
        _announce(p);
    }

    /// @notice Propose removing `member` together with all its nodes.
    function proposeRemoveMember(address member, bytes32 evidenceHash)
        external
        onlyMember
        returns (uint256 id)
    {
        _checkRemoveMember(member);
        Proposal storage p = _newProposal(ProposalKind.RemoveMember, member, evidenceHash);
        id = p.id;
        _announce(p);
    }

    /// @notice Propose admitting `node` of `nodeType`, run by member `owner`.
    function proposeAddNode(address node, address owner, NodeType nodeType, bytes32 evidenceHash)
        external
        onlyMember
        returns (uint256 id)
    {
        _checkAddNode(node, owner, nodeType);
        Proposal storage p = _newProposal(ProposalKind.AddNode, node, evidenceHash);
        p.nodeOwner = owner;
        p.nodeType = nodeType;
        id = p.id;
        _announce(p);
    }

    /// @notice Propose removing `node`.
    function proposeRemoveNode(address node, bytes32 evidenceHash)
        external
        onlyMember
        returns (uint256 id)
    {
        _checkRemoveNode(node);
        Proposal storage p = _newProposal(ProposalKind.RemoveNode, node, evidenceHash);
        id = p.id;
        _announce(p);
    }

    /// @notice Propose changing the passing threshold to `newThresholdBps`.
    function proposeSetThreshold(uint16 newThresholdBps, bytes32 evidenceHash)
        external
        onlyMember
        returns (uint256 id)
    {
        _requireThreshold(newThresholdBps);
        Proposal storage p = _newProposal(ProposalKind.SetThreshold, address(0), evidenceHash);
        p.thresholdBps = newThresholdBps;
        id = p.id;
        _announce(p);
    }

    /// @notice Vote on an open proposal; executes or rejects it when the outcome is decided.
    /// @dev Reverts `not_member`, `unknown_proposal`, `proposal_closed` or `already_voted`.
    function vote(uint256 proposalId, bool support) external onlyMember {
        Proposal storage p = _proposal(proposalId);
        require(!p.executed && !p.rejected, "proposal_closed");
        require(!_voted[proposalId][msg.sender], "already_voted");
        _voted[proposalId][msg.sender] = true;

        if (support) {
            p.yesVotes += 1;
        } else {
            p.noVotes += 1;
        }
        emit VoteCast(proposalId, msg.sender, support, p.yesVotes, p.noVotes);

        uint256 needed = uint256(thresholdBps) * _memberList.length;
        if (support) {
            if (uint256(p.yesVotes) * BPS >= needed) {
                p.executed = true;
                _execute(p);
                emit ProposalExecuted(proposalId);
            }
        } else {
            uint256 undecided = _memberList.length > p.noVotes ? _memberList.length - p.noVotes : 0;
            if (undecided * BPS < needed) {
                p.rejected = true;
                emit ProposalRejected(proposalId);
            }
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IServiceNodeRegistry
    function isServiceNode(address node) external view override returns (bool) {
        return _nodeIndex[node] != 0 && _nodes[node].nodeType == NodeType.Service;
    }

    /// @notice True when `account` is a current member.
    function isMember(address account) external view returns (bool) {
        return _memberIndex[account] != 0;
    }

    /// @notice True when `node` is a current node of any type.
    function isNode(address node) external view returns (bool) {
        return _nodeIndex[node] != 0;
    }

    function memberCount() external view returns (uint256) {
        return _memberList.length;
    }

    function nodeCount() external view returns (uint256) {
        return _nodeList.length;
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice The member record of `account`; all zero when not a member.
    function getMember(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @notice The node record of `node`; all zero when not a node.
    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @notice Proposal `proposalId` (ids start at 1). Reverts `unknown_proposal`.
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        return _proposal(proposalId);
    }

    /// @notice Whether `account` has voted on `proposalId`.
    function hasVoted(uint256 proposalId, address account) external view returns (bool) {
        return _voted[proposalId][account];
    }

    /// @notice Current member addresses (order changes on removal).
    function getMembers() external view returns (address[] memory) {
        return _memberList;
    }

    /// @notice Current node addresses (order changes on removal).
    function getNodes() external view returns (address[] memory) {
        return _nodeList;
    }

    /// @notice Current nodes run by `member`.
    function getMemberNodes(address member) external view returns (address[] memory) {
        return _memberNodes[member];
    }

    // ------------------------------------------------------------- internal

    function _newProposal(ProposalKind kind, address target, bytes32 evidenceHash)
        private
        returns (Proposal storage p)
    {
        p = _proposals.push();
        p.id = _proposals.length;
        p.kind = kind;
        p.target = target;
        p.evidenceHash = evidenceHash;
        p.proposer = msg.sender;
        p.createdBlock = uint64(block.number);
    }

    function _announce(Proposal storage p) private {
        emit ProposalCreated(p.id, p.kind, p.target, p.proposer, p.evidenceHash);
    }

    function _proposal(uint256 proposalId) private view returns (Proposal storage) {
        require(proposalId != 0 && proposalId <= _proposals.length, "unknown_proposal");
        return _proposals[proposalId - 1];
    }

    function _execute(Proposal storage p) private {
        if (p.kind == ProposalKind.AddMember) {
            _checkAddMember(p.target);
            _addMember(p.target, p.name, p.role);
        } else if (p.kind == ProposalKind.RemoveMember) {
            _checkRemoveMember(p.target);
            _removeMember(p.target);
        } else if (p.kind == ProposalKind.AddNode) {
            _checkAddNode(p.target, p.nodeOwner, p.nodeType);
            _addNode(p.target, p.nodeOwner, p.nodeType);
        } else if (p.kind == ProposalKind.RemoveNode) {
            _checkRemoveNode(p.target);
            _removeNode(p.target);
        } else {
            emit ThresholdChanged(thresholdBps, p.thresholdBps);
            thresholdBps = p.thresholdBps;
        }
    }

    function _checkAddMember(address member) private view {
        require(member != address(0), "zero_address");
        require(_memberIndex[member] == 0, "member_exists");
    }

    function _checkRemoveMember(address member) private view {
        require(_memberIndex[member] != 0, "unknown_member");
        require(_memberList.length > 1, "last_member");
    }

    function _checkAddNode(address node, address owner, NodeType nodeType) private view {
        require(node != address(0), "zero_address");
        require(_nodeIndex[node] == 0, "node_exists");
        require(_memberIndex[owner] != 0, "unknown_member");
        require(nodeType != NodeType.None, "bad_node_type");
    }

    function _checkRemoveNode(address node) private view {
        require(_nodeIndex[node] != 0, "unknown_node");
    }

    function _requireThreshold(uint16 bps) private pure {
        require(bps != 0 && bps <= BPS, "bad_threshold");
    }

    function _addMember(address account, string memory name, bytes32 role) private {
        _members[account] = Member(account, role, uint64(block.timestamp), name);
        _memberList.push(account);
        _memberIndex[account] = _memberList.length;
        emit MemberAdded(account, name, role);
    }

    function _removeMember(address account) private {
        address[] storage owned = _memberNodes[account];
        while (owned.length != 0) {
            _removeNode(owned[owned.length - 1]);
        }
        _swapAndPop(_memberList, _memberIndex, account);
        delete _members[account];
        emit MemberRemoved(account);
    }

    function _addNode(address node, address owner, NodeType nodeType) private {
        _nodes[node] = Node(node, owner, nodeType, uint64(block.timestamp));
        _nodeList.push(node);
        _nodeIndex[node] = _nodeList.length;
        _memberNodes[owner].push(node);
        _memberNodeIndex[node] = _memberNodes[owner].length;
        emit NodeAdded(node, owner, nodeType);
    }

    function _removeNode(address node) private {
        address owner = _nodes[node].owner;
        _swapAndPop(_nodeList, _nodeIndex, node);
        _swapAndPop(_memberNodes[owner], _memberNodeIndex, node);
        delete _nodes[node];
        emit NodeRemoved(node, owner);
    }

    /// @dev Remove `item` from `list` in O(1) by moving the last element into its
    ///      slot; `index` holds each element's position + 1 (0 = absent).
    function _swapAndPop(
        address[] storage list,
        mapping(address => uint256) storage index,
        address item
    ) private {
        uint256 position = index[item] - 1;
        uint256 last = list.length - 1;
        if (position != last) {
            address moved = list[last];
            list[position] = moved;
            index[moved] = position + 1;
        }
        list.pop();
        delete index[item];
    }
}
