#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/model.hpp"
#include "core/placement.hpp"
#include "core/topology.hpp"

using namespace moeb;

TEST(ModelPresets, CarryPublishedDimensions) {
  const auto& ds = model_preset("deepseek-v3");
  EXPECT_EQ(ds.num_experts, 256);
  EXPECT_EQ(ds.top_k, 8);
  EXPECT_EQ(ds.hidden, 7168);
  EXPECT_EQ(ds.ffn_hidden, 2048);
  EXPECT_EQ(ds.num_layers, 58);
  EXPECT_EQ(ds.num_shared_experts, 1);
  EXPECT_EQ(ds.num_expert_groups, 8);
  EXPECT_EQ(ds.topk_groups, 4);
  const auto& mx = model_preset("mixtral-8x7b");
  EXPECT_EQ(mx.num_experts, 8);
  EXPECT_EQ(mx.top_k, 2);
  EXPECT_EQ(mx.ffn_hidden, 14336);
  const auto& q = model_preset("qwen1.5-moe-a2.7b");
  EXPECT_EQ(q.num_experts, 60);
  EXPECT_EQ(q.num_shared_experts, 4);
  EXPECT_EQ(model_preset("kimi-k2").num_experts, 384);
  EXPECT_EQ(model_preset("gpt-oss-120b").top_k, 4);
  EXPECT_EQ(model_presets().size(), 9u);
  for (const auto& m : model_presets()) EXPECT_NO_THROW(validate_model(m, m.name));
}

TEST(ModelPresets, UnknownNameListsKnownOnes) {
  try {
    model_preset("gpt-5");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("deepseek-v3"), std::string::npos);
  }
}

TEST(ModelSpec, TopKAboveExpertsIsRejectedWithKey) {
  ModelSpec m = model_preset("mixtral-8x7b");
  m.top_k = 9;
  try {
    validate_model(m, "suite.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("top_k"), std::string::npos);
  }
}

TEST(Topology, UniformMapsRanksToNodes) {
  auto t = Topology::uniform(2, 2);
  EXPECT_EQ(t.num_ranks(), 4);
  EXPECT_EQ(t.node_of(1), 0);
  EXPECT_EQ(t.node_of(2), 1);
  EXPECT_TRUE(t.same_node(2, 3));
  EXPECT_FALSE(t.same_node(1, 2));
  EXPECT_EQ(t.local_rank(3), 1);
  EXPECT_EQ(t.describe(), "2x2");
}

TEST(Topology, NonUniformNodeMap) {
  auto t = Topology::from_node_map({0, 0, 1, 2});
  EXPECT_EQ(t.num_nodes(), 3);
  EXPECT_FALSE(t.is_uniform());
  EXPECT_EQ(t.ranks_per_node(), 2);
  EXPECT_EQ(t.describe(), "3 nodes: [2,1,1]");
}

TEST(Topology, ParsesAndRejectsText) {
  auto t = parse_topology("32x8", "--topology");
  EXPECT_EQ(t.num_ranks(), 256);
  EXPECT_THROW(parse_topology("32by8", "--topology"), ConfigError);
  EXPECT_THROW(parse_topology("0x8", "--topology"), ConfigError);
}

// The bytes a run's ranks exchange when their placements differ (Measurer::share_placement):
// every field survives the round trip, and bytes that encode did not write are refused.
TEST(PlacementBytes, RoundTripAndRefuseForeignBytes) {
  Placement p;
  p.num_ranks = 3;
  p.layers.resize(2);
  p.layers[0].replicas = {{0, 2}, {1}, {2, 0, 1}};
  p.layers[0].replica_weights = {{0.25, 0.75}, {1.0}, {0.5, 0.25, 0.25}};
  p.layers[0].predicted_rank_load = {1.5, -0.0, 7e300};
  p.layers[1].replicas = {{1}, {0}, {2}};
  const Placement q = decode_placement(encode_placement(p));
  EXPECT_EQ(q.num_ranks, 3);
  ASSERT_EQ(q.layers.size(), 2u);
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(q.layers[l].replicas, p.layers[l].replicas);
    EXPECT_EQ(q.layers[l].replica_weights, p.layers[l].replica_weights);
    EXPECT_EQ(q.layers[l].predicted_rank_load, p.layers[l].predicted_rank_load);
  }
  const std::string bytes = encode_placement(p);
  EXPECT_THROW(decode_placement(bytes.substr(0, bytes.size() - 1)), Error);
  EXPECT_THROW(decode_placement(bytes + "x"), Error);
  std::string huge = bytes;
  huge[4 + 7] = '\x7f';  // the layer count's top byte: more layers than there are bytes
  EXPECT_THROW(decode_placement(huge), Error);
}
